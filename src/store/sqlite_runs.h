// Runs: schema 3 keeps a room's (id -> row) index as rows of `event_runs`,
// each a run of up to kRunMax consecutive events of one room packed in one
// blob, written when the run is folded (a few per commit) instead of one
// index entry per event, whose page per room touched was most of a commit's
// cost with many rooms (docs/STORAGE.md, BENCHMARKS.md).
//
// The blob is the entries in id order, each three varints: the id's step
// from the one before (the first from first_id - 1, so the first entry's id
// is the row's first_id), then the seq's and the ts's steps zigzag-encoded
// (the first from 0): a few bytes per event.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

struct sqlite3_stmt;

namespace chatd {

// One event as the index knows it: its id, its row (events.seq) and its ts.
struct RunEntry {
  uint64_t id = 0;
  int64_t seq = 0;
  int64_t ts = 0;
};

// Entries in one run row at most: a run of 128 small steps is a few hundred
// bytes, which SQLite keeps on the run's index page without overflow pages.
inline constexpr size_t kRunMax = 128;

// Appends the blob of entries (in increasing id order, at least one) to *out.
void encode_run(std::span<const RunEntry> entries, std::string* out);

// Steps `insert`, a prepared "INSERT INTO event_runs(room, first_id,
// entries) VALUES(?1, ?2, ?3)", for one run of `room` (its blob encoded
// into the scratch `blob`); true when the row is in. The statement is reset
// afterwards.
bool insert_run_row(sqlite3_stmt* insert, int64_t room, std::span<const RunEntry> entries,
                    std::string& blob);

// Appends the entries of a run row to *out. False when the blob is not a
// well-formed run (a corrupt row): *out is then left as it was.
bool decode_run(uint64_t first_id, const void* blob, size_t size, std::vector<RunEntry>* out);

}  // namespace chatd
