// JsonReader, protocol v2's fields: which each type reads, the integer
// fields and their bounds, the ref's limit, and what an error can echo.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "chat/json_reader.h"
#include "json_reader_summary.h"

namespace chatd {
namespace {

using test::summarize;
using test::Summary;

TEST(JsonReaderFields, FieldErrors) {
  const char* bad_field[] = {
      R"({"type":"join","nick":null})",
      R"({"type":"join","nick":5})",
      R"({"type":"join","nick":["a"]})",
      R"({"type":"join","nick":{"a":"b"}})",
      R"({"type":"join","nick":false})",
      R"({"type":"join","nick":"a","room":5})",
      R"({"type":"join","nick":"a","room":null})",
      R"({"type":"join","nick":"a","room":["dev"]})",
      R"({"type":"join","nick":"a","epoch":7})",
      R"({"type":"join","nick":"a","epoch":null})",
      R"({"type":"msg"})",
      R"({"type":"msg","nick":"a"})",
      R"({"type":"msg","msg":42})",
      R"({"type":"msg","msg":null})",
      R"({"type":"msg","msg":1e999})",
      R"({"type":"msg","msg":["hi"]})",
      R"({"type":"msg","msg":"hi","room":1})",
      R"({"type":"leave","room":{}})",
      R"({"type":"leave","room":false})",
      R"({"type":"history","room":0})",
  };
  for (const char* doc : bad_field) EXPECT_EQ(summarize(doc).error, ChatError::bad_field) << doc;
  // Only the fields the type uses are read: the others may hold anything.
  const char* fine[] = {
      R"({"type":"msg","msg":"m","nick":5})",
      R"({"type":"msg","msg":"m","since":-1,"epoch":[],"limit":0})",
      R"({"type":"join","nick":"n","msg":5})",
      R"({"type":"join","nick":"n","before":"x","limit":1000})",
      R"({"type":"join"})",
      R"({"type":"join","msg":"a"})",
      R"({"type":"leave","nick":7,"history":-3})",
      R"({"type":"history","since":"x","history":999,"nick":null})",
      R"({"type":"rooms","room":5,"limit":-1,"before":1.5})",
  };
  for (const char* doc : fine) EXPECT_EQ(summarize(doc).error, ChatError::none) << doc;
}

TEST(JsonReaderFields, EveryTypeAndItsFields) {
  Summary j = summarize(
      R"({"type":"join","room":"dev","nick":"alice","since":41,"epoch":"k3x9q2","history":50,)"
      R"("ref":"j1"})");
  EXPECT_EQ(j.error, ChatError::none);
  EXPECT_EQ(j.type, MsgType::join);
  EXPECT_EQ(j.room, "dev");
  EXPECT_EQ(j.nick, "alice");
  EXPECT_EQ(j.since, 41u);
  EXPECT_EQ(j.epoch, "k3x9q2");
  EXPECT_EQ(j.history, 50u);
  EXPECT_EQ(j.ref, "j1");
  EXPECT_EQ(j.msg, std::nullopt);
  EXPECT_EQ(j.before, std::nullopt);

  Summary bare = summarize(R"({"type":"join","nick":"a"})");
  EXPECT_EQ(bare.room, std::nullopt) << "the engine decides what no room means";
  EXPECT_EQ(bare.since, std::nullopt);
  EXPECT_EQ(bare.history, std::nullopt);
  EXPECT_EQ(bare.epoch, std::nullopt);
  EXPECT_EQ(bare.ref, std::nullopt);

  Summary m = summarize(R"({"type":"msg","room":"dev","msg":"Olá!","ref":""})");
  EXPECT_EQ(m.type, MsgType::msg);
  EXPECT_EQ(m.room, "dev");
  EXPECT_EQ(m.msg, "Olá!");
  EXPECT_EQ(m.ref, "");

  Summary l = summarize(R"({"type":"leave","room":"dev"})");
  EXPECT_EQ(l.error, ChatError::none);
  EXPECT_EQ(l.type, MsgType::leave);
  EXPECT_EQ(l.room, "dev");

  Summary h = summarize(R"({"type":"history","room":"dev","before":120,"limit":50})");
  EXPECT_EQ(h.error, ChatError::none);
  EXPECT_EQ(h.type, MsgType::history);
  EXPECT_EQ(h.room, "dev");
  EXPECT_EQ(h.before, 120u);
  EXPECT_EQ(h.limit, 50u);
  Summary h0 = summarize(R"({"type":"history"})");
  EXPECT_EQ(h0.error, ChatError::none);
  EXPECT_EQ(h0.before, std::nullopt);
  EXPECT_EQ(h0.limit, std::nullopt);

  Summary r = summarize(R"({"type":"rooms","ref":"x"})");
  EXPECT_EQ(r.error, ChatError::none);
  EXPECT_EQ(r.type, MsgType::rooms);
  EXPECT_EQ(r.ref, "x");
}

// since, history, before and limit are integers in range: digits only, no
// sign, fraction or exponent, no string or other JSON type.
TEST(JsonReaderFields, IntegerFieldsAndTheirBounds) {
  struct Field {
    const char* type;
    const char* name;
    uint64_t lo, hi;
    std::optional<uint64_t> Summary::*got;
  };
  constexpr uint64_t kBig = 9999999999999999999ull;  // 19 digits, the longest taken
  const Field fields[] = {
      {"join", "since", 0, kBig, &Summary::since},
      {"join", "history", 0, 200, &Summary::history},
      {"history", "before", 0, kBig, &Summary::before},
      {"history", "limit", 1, 200, &Summary::limit},
  };
  const char* never[] = {"-1",
                         "-0",
                         "1.0",
                         "0.5",
                         "1e2",
                         "1E2",
                         "2e0",
                         "-5",
                         R"("5")",
                         R"("")",
                         "null",
                         "true",
                         "false",
                         "[1]",
                         R"({"v":1})",
                         "18446744073709551615",
                         "18446744073709551616",
                         "100000000000000000000",
                         "1e999",
                         "-1e999"};
  for (const Field& f : fields) {
    auto doc = [&](std::string_view v) {
      return std::string(R"({"type":")") + f.type + R"(","nick":"a",")" + f.name + R"(":)" +
             std::string(v) + R"(,"ref":"r"})";
    };
    for (uint64_t v : {f.lo, f.lo + 1, f.hi - 1, f.hi}) {
      Summary s = summarize(doc(std::to_string(v)));
      EXPECT_EQ(s.error, ChatError::none) << f.name << " " << v;
      EXPECT_EQ(s.*f.got, v) << f.name;
    }
    std::vector<std::string> bad(std::begin(never), std::end(never));
    bad.push_back(std::to_string(f.hi + 1));
    if (f.lo > 0) bad.push_back(std::to_string(f.lo - 1));
    for (const std::string& v : bad) {
      Summary s = summarize(doc(v));
      EXPECT_EQ(s.error, ChatError::bad_field) << f.name << " " << v;
      EXPECT_EQ(s.type, f.type == std::string_view("join") ? MsgType::join : MsgType::history);
      EXPECT_EQ(s.ref, "r") << "a bad_field reply can still echo the ref: " << f.name << " " << v;
    }
    // Not JSON numbers at all: the document is bad.
    for (const char* v : {"01", "+1", "0x10", "1.", ".5", "1e", "Infinity", "NaN"}) {
      EXPECT_EQ(summarize(doc(v)).error, ChatError::bad_json) << f.name << " " << v;
    }
  }
  EXPECT_EQ(summarize(R"({"type":"join","since":   7  ,"nick":"a"})").since, 7u);
}

TEST(JsonReaderFields, RefAtMost64Bytes) {
  auto doc = [](std::string_view type, std::string_view ref_json) {
    return std::string(R"({"type":")") + std::string(type) + R"(","msg":"m","ref":)" +
           std::string(ref_json) + "}";
  };
  for (const char* type : {"join", "msg", "leave", "history", "rooms"}) {
    Summary ok = summarize(doc(type, "\"" + std::string(64, 'r') + "\""));
    EXPECT_EQ(ok.error, ChatError::none) << type;
    EXPECT_EQ(ok.ref, std::string(64, 'r'));
    Summary over = summarize(doc(type, "\"" + std::string(65, 'r') + "\""));
    EXPECT_EQ(over.error, ChatError::bad_field) << type;
    EXPECT_EQ(over.ref, std::nullopt) << "a ref over the limit is not echoed";
    // Bytes as decoded: 32 two-byte code points are 64 bytes, 33 are 66.
    std::string e32, e33;
    for (int i = 0; i < 32; ++i) e32 += "\\u00e9";
    e33 = e32 + "\\u00e9";
    EXPECT_EQ(summarize(doc(type, "\"" + e32 + "\"")).error, ChatError::none) << type;
    EXPECT_EQ(summarize(doc(type, "\"" + e33 + "\"")).error, ChatError::bad_field) << type;
    for (const char* v : {"1", "null", "[]", "{}", "true"}) {
      EXPECT_EQ(summarize(doc(type, v)).error, ChatError::bad_field) << type << " " << v;
    }
  }
}

// bad_type and bad_field still carry the ref and room when they were
// readable, so the error reply can echo them.
TEST(JsonReaderFields, ErrorsKeepRefAndRoom) {
  Summary t = summarize(R"({"type":"typing","room":"dev","ref":"r1"})");
  EXPECT_EQ(t.error, ChatError::bad_type);
  EXPECT_EQ(t.ref, "r1");
  EXPECT_EQ(t.room, "dev");
  Summary none = summarize(R"({"room":"dev","ref":"r2"})");
  EXPECT_EQ(none.error, ChatError::bad_type);
  EXPECT_EQ(none.ref, "r2");
  EXPECT_EQ(none.room, "dev");
  Summary odd = summarize(R"({"type":null,"room":5,"ref":7})");
  EXPECT_EQ(odd.error, ChatError::bad_type);
  EXPECT_EQ(odd.ref, std::nullopt);
  EXPECT_EQ(odd.room, std::nullopt);
  Summary long_ref =
      summarize(R"({"type":"msg","room":"dev","msg":"m","ref":")" + std::string(65, 'x') + "\"}");
  EXPECT_EQ(long_ref.error, ChatError::bad_field);
  EXPECT_EQ(long_ref.type, MsgType::msg);
  EXPECT_EQ(long_ref.ref, std::nullopt);
  EXPECT_EQ(long_ref.room, "dev");
  Summary bad_limit = summarize(R"({"type":"history","room":"dev","limit":0,"ref":"r3"})");
  EXPECT_EQ(bad_limit.error, ChatError::bad_field);
  EXPECT_EQ(bad_limit.ref, "r3");
  EXPECT_EQ(bad_limit.room, "dev");
  EXPECT_EQ(summarize(R"({"type":"join","ref":"r","room":"dev"} x)").ref, std::nullopt)
      << "bad_json: nothing is read";
}

}  // namespace
}  // namespace chatd
