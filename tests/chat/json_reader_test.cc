// JsonReader: what a client message parses to, and every way it may not.
#include "chat/json_reader.h"

#include <gtest/gtest.h>

#include <string>

#include "json_reader_summary.h"

namespace chatd {
namespace {

using test::Padded;
using test::parse;
using test::summarize;
using test::Summary;

TEST(JsonReader, JoinAndMsg) {
  Summary j = summarize(R"({"type": "join", "nick": "alice"})");
  EXPECT_EQ(j.error, ChatError::none);
  EXPECT_EQ(j.type, MsgType::join);
  EXPECT_EQ(j.nick, "alice");
  Summary m = summarize(R"({"type":"msg","msg":"Olá!"})");
  EXPECT_EQ(m.error, ChatError::none);
  EXPECT_EQ(m.type, MsgType::msg);
  EXPECT_EQ(m.msg, "Olá!");
}

TEST(JsonReader, UnknownFieldsAndWhiteSpaceIgnored) {
  Summary s = summarize(
      " \t\r\n{ \"x\" : [1, -2.5e-3, true, false, null, {\"a\": {}}, []], \"type\" : \"msg\" ,"
      " \"nick\": 7, \"msg\" : \"hi\", \"big\": 1e999, \"z\": -0.0E+5 } \n ");
  EXPECT_EQ(s.error, ChatError::none);
  EXPECT_EQ(s.type, MsgType::msg);
  EXPECT_EQ(s.msg, "hi");
}

TEST(JsonReader, EscapesDecodedExactly) {
  struct Case {
    const char* json_string;
    std::string decoded;
  };
  const Case cases[] = {
      {R"("\"")", "\""},
      {R"("\\")", "\\"},
      {R"("\/")", "/"},
      {R"("\b\f\n\r\t")", "\b\f\n\r\t"},
      {R"("\u0041\u00e9\u20AC")", "A\xC3\xA9\xE2\x82\xAC"},
      {R"("\u0000")", std::string(1, '\0')},
      {R"("a\u0000b")", std::string("a\0b", 3)},
      {R"("\uD83D\uDE00")", "\xF0\x9F\x98\x80"},  // one code point, U+1F600
      {R"("\udbff\udfff")", "\xF4\x8F\xBF\xBF"},  // U+10FFFF, lower-case hex
      {R"("\uFFFF")", "\xEF\xBF\xBF"},
      {"\"raw \xF0\x9F\x98\x80 utf8\"", "raw \xF0\x9F\x98\x80 utf8"},
  };
  for (const Case& c : cases) {
    Summary s = summarize(std::string(R"({"type":"msg","msg":)") + c.json_string + "}");
    EXPECT_EQ(s.error, ChatError::none) << c.json_string;
    EXPECT_EQ(s.msg, c.decoded) << c.json_string;
  }
}

TEST(JsonReader, EveryEscapedControlCharacterDecodes) {
  for (int c = 0; c < 0x20; ++c) {
    char esc[8];
    snprintf(esc, sizeof esc, "\\u%04x", c);
    Summary s = summarize(std::string(R"({"type":"msg","msg":"<)") + esc + R"(>"})");
    EXPECT_EQ(s.error, ChatError::none) << c;
    EXPECT_EQ(s.msg, std::string("<") + char(c) + ">") << c;
  }
}

TEST(JsonReader, EveryRawControlCharacterInAStringIsBadJson) {
  for (int c = 0; c < 0x20; ++c) {
    std::string doc = std::string(R"({"type":"msg","msg":"<)") + char(c) + R"(>"})";
    EXPECT_EQ(summarize(doc).error, ChatError::bad_json) << c;
  }
  // U+007F needs no escape in JSON.
  EXPECT_EQ(summarize("{\"type\":\"msg\",\"msg\":\"\x7F\"}").msg, "\x7F");
}

// simdjson 3.0.1 rejects these itself (STRING_ERROR); the test pins that down
// so an upgrade that starts accepting them is caught. In an ignored field too.
TEST(JsonReader, LoneSurrogatesAreBadJson) {
  const char* bad[] = {
      R"("\uD83D")",       R"("\uDE00")",        R"("\uD83Dx")",  R"("\uD83D\u0041")",
      R"("\uDE00\uD83D")", R"("\uD800\uD800")",  R"("\uDBFF\n")", R"("x\uDFFF")",
      R"("\uD83D\uDE0")",  R"("\uD83D\\uDE00")", R"("\uD83D\u")",
  };
  for (const char* s : bad) {
    EXPECT_EQ(summarize(std::string(R"({"type":"msg","msg":)") + s + "}").error,
              ChatError::bad_json)
        << s;
    EXPECT_EQ(summarize(std::string(R"({"type":"msg","msg":"ok","x":)") + s + "}").error,
              ChatError::bad_json)
        << "ignored field " << s;
    EXPECT_EQ(summarize(std::string(R"({"type":"msg","msg":"ok",)") + s + ":1}").error,
              ChatError::bad_json)
        << "key " << s;
  }
}

TEST(JsonReader, InvalidDocumentsAreBadJson) {
  const char* bad[] = {
      "",
      "   ",
      "{",
      "}",
      "{}}",
      "{]",
      R"({"type":"join","nick":"a")",
      R"({"type":"join","nick":"a)",
      R"({"type":"join","nick":)",
      R"({"type":"join","nick":"a",})",
      R"({"type":"join",,"nick":"a"})",
      R"({,"type":"join","nick":"a"})",
      R"({"type":"join" "nick":"a"})",
      R"({"type" "join","nick":"a"})",
      R"({"type":"join","nick":"a"} x)",
      R"({"type":"join","nick":"a"}x)",
      R"({"type":"join","nick":"a"}{})",
      R"({"type":"join","nick":"a"} {"type":"msg"})",
      R"({"type":"join","nick":"a"} [])",
      R"({"type":"join","nick":"a"} 1)",
      R"({"type":"join","nick":"a"}])",
      R"([{"type":"join","nick":"a"}])",
      R"("join")",
      "42",
      "null",
      "true",
      R"({type:"join","nick":"a"})",
      R"({'type':'join','nick':'a'})",
      R"({"type":"join","nick":"a","x":[1,2,]})",
      R"({"type":"join","nick":"a","x":[1,2,}})",
      R"({"type":"join","nick":"a","x":{"a":1,}})",
      R"({"type":"join","nick":"a","x":tru})",
      R"({"type":"join","nick":"a","x":nul})",
      R"({"type":"join","nick":"a","x":True})",
      R"({"type":"join","nick":"a","x":01})",
      R"({"type":"join","nick":"a","x":1.})",
      R"({"type":"join","nick":"a","x":.5})",
      R"({"type":"join","nick":"a","x":-})",
      R"({"type":"join","nick":"a","x":+1})",
      R"({"type":"join","nick":"a","x":1e})",
      R"({"type":"join","nick":"a","x":1e+})",
      R"({"type":"join","nick":"a","x":0x10})",
      R"({"type":"join","nick":"a","x":NaN})",
      R"({"type":"join","nick":"a","x":1 2})",
      R"({"type":"join","nick":"a","x":"\q"})",
      R"({"type":"join","nick":"a","x":"\u12"})",
      R"({"type":"join","nick":"a","x":"\uZZZZ"})",
      R"({"type":"join","nick":"a","x"})",
      R"({"type":"join","nick":"a",:1})",
      R"({"type":"join","nick":"a","x":})",
      "{\"type\":\"join\",\"nick\":\"\xC3\"}",  // invalid UTF-8
  };
  for (const char* doc : bad) EXPECT_EQ(summarize(doc).error, ChatError::bad_json) << doc;
}

TEST(JsonReader, EveryProperPrefixIsBadJson) {
  const std::string doc = R"({"type":"msg","msg":"h\u00e9 \"x\"","n":[1,{"a":null}],"t":true})";
  ASSERT_EQ(summarize(doc).error, ChatError::none);
  for (size_t n = 0; n < doc.size(); ++n) {
    EXPECT_EQ(summarize(doc.substr(0, n)).error, ChatError::bad_json) << doc.substr(0, n);
  }
}

TEST(JsonReader, PaddingIsNeverContent) {
  JsonReader r;
  // A truncated document followed by padding that would complete it.
  std::string cut = R"({"type":"join","nick":"a")";
  Padded in(cut, ' ');
  std::string tail = R"(})";
  std::copy(tail.begin(), tail.end(), in.data() + cut.size());
  EXPECT_EQ(r.parse(in.data(), in.size()).error, ChatError::bad_json);
  for (char pad : {'\0', '"', '}', ']', 'x', ' '}) {
    EXPECT_EQ(parse(r, R"({"type":"join","nick":"a"})", pad).error, ChatError::none) << int(pad);
  }
}

TEST(JsonReader, TypeErrors) {
  const char* bad_type[] = {
      R"({})",
      R"({"nick":"a"})",
      R"({"type":null,"nick":"a"})",
      R"({"type":1,"nick":"a"})",
      R"({"type":true,"nick":"a"})",
      R"({"type":["join"],"nick":"a"})",
      R"({"type":{"type":"join"},"nick":"a"})",
      R"({"type":"JOIN","nick":"a"})",
      R"({"type":"join ","nick":"a"})",
      R"({"type":"","nick":"a"})",
      R"({"type":"welcome","nick":"a"})",
      R"({"type":"system","nick":"a"})",
      R"({"type":"error","nick":"a"})",
      R"({"type":"Rooms"})",
      R"({"type":"rooms "})",
      R"({"type":"histor"})",
      R"({"type":"join\u0000"})",
      R"({"x":{"type":"join"},"nick":"a"})",
      R"({"Type":"join","nick":"a"})",
  };
  for (const char* doc : bad_type) EXPECT_EQ(summarize(doc).error, ChatError::bad_type) << doc;
}

TEST(JsonReader, EscapedKeysMatch) {
  Summary s = summarize(R"({"\u0074ype":"j\u006fin","ni\u0063k":"a"})");
  EXPECT_EQ(s.error, ChatError::none);
  EXPECT_EQ(s.type, MsgType::join);
  EXPECT_EQ(s.nick, "a");
}

// Documented choice: the first occurrence of a known key decides; later
// duplicates must still be valid JSON but are otherwise ignored.
TEST(JsonReader, DuplicateKeysFirstOccurrenceWins) {
  EXPECT_EQ(summarize(R"({"type":"join","nick":"a","nick":"b"})").nick, "a");
  Summary s = summarize(R"({"type":"msg","type":"join","msg":"m","nick":"n"})");
  EXPECT_EQ(s.type, MsgType::msg);
  EXPECT_EQ(s.msg, "m");
  EXPECT_EQ(summarize(R"({"type":5,"type":"join","nick":"a"})").error, ChatError::bad_type);
  EXPECT_EQ(summarize(R"({"type":"join","nick":5,"nick":"b"})").error, ChatError::bad_field);
  EXPECT_EQ(summarize(R"({"type":"join","nick":"a","nick":7})").nick, "a");
  EXPECT_EQ(summarize(R"({"type":"join","nick":"a","nick":"\uD800"})").error, ChatError::bad_json);
  EXPECT_EQ(summarize(R"({"type":"join","nick":"a","type":[1,}]})").error, ChatError::bad_json);
}

TEST(JsonReader, NestingIsBounded) {
  auto nested = [](int depth) {
    return R"({"type":"msg","msg":"m","x":)" + std::string(depth, '[') + std::string(depth, ']') +
           "}";
  };
  EXPECT_EQ(summarize(nested(kMaxJsonDepth - 1)).error, ChatError::none);
  EXPECT_EQ(summarize(nested(kMaxJsonDepth)).error, ChatError::bad_json);
  EXPECT_EQ(summarize(nested(20000)).error, ChatError::bad_json);
  std::string objects = R"({"type":"msg","msg":"m","x":)";
  for (int i = 0; i < 5000; ++i) objects += R"({"a":)";
  objects += "1" + std::string(5000, '}') + "}";
  EXPECT_EQ(summarize(objects).error, ChatError::bad_json);
}

TEST(JsonReader, HugeStrings) {
  for (size_t n : {size_t(60000), kDefaultJsonCapacity + 1, size_t(300000)}) {
    std::string text(n, 'x');
    text[n / 2] = '\n';
    std::string doc = R"({"type":"msg","pad":")" + std::string(n, 'p') + R"(","msg":")" +
                      std::string(text).replace(n / 2, 1, "\\n") + R"("})";
    Summary s = summarize(doc);
    EXPECT_EQ(s.error, ChatError::none) << n;
    EXPECT_EQ(s.msg, text) << n;
    EXPECT_EQ(summarize(doc.substr(0, doc.size() - 2)).error, ChatError::bad_json) << n;
  }
}

TEST(JsonReader, ReusedParserGivesIndependentResults) {
  JsonReader r;
  for (int i = 0; i < 200; ++i) {
    std::string nick = "user" + std::to_string(i);
    ParsedMessage m = parse(r, R"({"type":"join","nick":")" + nick + R"("})");
    ASSERT_EQ(m.error, ChatError::none);
    EXPECT_EQ(m.nick.text, nick);
    EXPECT_EQ(parse(r, "[garbage").error, ChatError::bad_json);
  }
}

}  // namespace
}  // namespace chatd
