#include "store/sqlite_runs.h"

#include "store/sqlite_util.h"

namespace chatd {
namespace {

// Appends v in 7-bit groups, low first, the high bit set on all but the last.
void put_varint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(char(uint8_t(v) | 0x80));
    v >>= 7;
  }
  out->push_back(char(v));
}

// Reads one put_varint() value at p and moves p past it; false when the
// bytes end first or it runs past 64 bits.
bool get_varint(const uint8_t*& p, const uint8_t* end, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    uint8_t b = *p++;
    r |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return true;
    }
  }
  return false;
}

// A signed step as an unsigned one that is small when the step is (-1 -> 1).
uint64_t zigzag(int64_t v) {
  return (uint64_t(v) << 1) ^ uint64_t(v >> 63);
}
int64_t unzigzag(uint64_t v) {
  return int64_t(v >> 1) ^ -int64_t(v & 1);
}

}  // namespace

void encode_run(std::span<const RunEntry> entries, std::string* out) {
  uint64_t id = entries.empty() ? 0 : entries.front().id - 1;
  int64_t seq = 0, ts = 0;
  for (const RunEntry& e : entries) {
    put_varint(e.id - id, out);
    put_varint(zigzag(int64_t(uint64_t(e.seq) - uint64_t(seq))), out);
    put_varint(zigzag(int64_t(uint64_t(e.ts) - uint64_t(ts))), out);
    id = e.id;
    seq = e.seq;
    ts = e.ts;
  }
}

bool decode_run(uint64_t first_id, const void* blob, size_t size, std::vector<RunEntry>* out) {
  const uint8_t* p = static_cast<const uint8_t*>(blob);
  const uint8_t* end = p + size;
  size_t keep = out->size();
  RunEntry e{first_id - 1, 0, 0};
  while (p < end) {
    uint64_t did, dseq, dts;
    if (!get_varint(p, end, &did) || !get_varint(p, end, &dseq) || !get_varint(p, end, &dts) ||
        did == 0 || (out->size() == keep && did != 1)) {
      out->resize(keep);
      return false;
    }
    e.id += did;
    e.seq = int64_t(uint64_t(e.seq) + uint64_t(unzigzag(dseq)));
    e.ts = int64_t(uint64_t(e.ts) + uint64_t(unzigzag(dts)));
    out->push_back(e);
  }
  if (out->size() == keep) return false;
  return true;
}

bool insert_run_row(sqlite3_stmt* insert, int64_t room, std::span<const RunEntry> entries,
                    std::string& blob) {
  blob.clear();
  encode_run(entries, &blob);
  sqlite::ResetOnExit reset(insert);
  sqlite3_bind_int64(insert, 1, room);
  sqlite3_bind_int64(insert, 2, int64_t(entries.front().id));
  sqlite3_bind_blob(insert, 3, blob.data(), int(blob.size()), SQLITE_STATIC);
  return sqlite3_step(insert) == SQLITE_DONE;
}

}  // namespace chatd
