#include "http/static_files.h"

#include <gtest/gtest.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "http/path.h"
#include "test_request.h"

namespace chatd {
namespace {

constexpr time_t kMtime = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT

struct Reply {
  int status = 0;
  std::string head, body;
  std::string header(const std::string& name) const {
    size_t at = head.find("\r\n" + name + ": ");
    if (at == std::string::npos) return "<none>";
    at += name.size() + 4;
    return head.substr(at, head.find("\r\n", at) - at);
  }
};

Reply parse_reply(const BlockRef& b) {
  std::string r(b->view());
  Reply out;
  out.status = std::stoi(r.substr(9, 3));
  size_t end = r.find("\r\n\r\n") + 4;
  out.head = r.substr(0, end);
  out.body = r.substr(end);
  return out;
}

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/chatd-static-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ + "/root";
    mkdir(root_.c_str(), 0755);
    mkdir((base_ + "/outside").c_str(), 0755);
    mkdir((root_ + "/sub").c_str(), 0755);
    write(base_ + "/outside/secret.txt", "secret");
    write(root_ + "/chat.html", "<!doctype html><title>chat</title>");
    write(root_ + "/sub/inner.txt", "inner");
    write(root_ + "/.hidden", "hidden");
    ASSERT_EQ(symlink((base_ + "/outside/secret.txt").c_str(), (root_ + "/out.txt").c_str()), 0);
    ASSERT_EQ(symlink("../outside", (root_ + "/outdir").c_str()), 0);
    ASSERT_EQ(symlink("sub/inner.txt", (root_ + "/in.txt").c_str()), 0);
    ASSERT_EQ(mkfifo((root_ + "/pipe.txt").c_str(), 0644), 0);
    std::string err;
    ASSERT_TRUE(files_.open(root_ + "/sub/..", &err)) << err;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + base_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  void write(const std::string& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
    timeval tv[2] = {{kMtime, 0}, {kMtime, 0}};
    utimes(path.c_str(), tv);
  }
  Reply get(const std::string& target, const std::string& headers = "",
            const char* method = "GET") {
    ParsedRequest p(std::string(method) + " " + target + " HTTP/1.1\r\nHost: h\r\n" + headers +
                    "\r\n");
    return parse_reply(files_.serve(p.req, true));
  }

  std::string base_, root_;
  StaticFiles files_;
};

TEST_F(StaticFilesTest, OpenResolvesRootOnce) {
  char resolved[PATH_MAX];
  ASSERT_NE(realpath(root_.c_str(), resolved), nullptr);
  EXPECT_EQ(files_.root(), resolved);
  StaticFiles f;
  std::string err;
  EXPECT_FALSE(f.open(base_ + "/missing", &err));
  EXPECT_NE(err.find("cannot resolve"), std::string::npos);
  EXPECT_FALSE(f.open(root_ + "/chat.html", &err));
  EXPECT_NE(err.find("not a directory"), std::string::npos);
}

TEST_F(StaticFilesTest, ServesIndexAndContentTypes) {
  const struct {
    const char* file;
    const char* type;
  } cases[] = {
      {"a.html", "text/html; charset=utf-8"},
      {"style.css", "text/css; charset=utf-8"},
      {"app.js", "text/javascript; charset=utf-8"},
      {"data.json", "application/json"},
      {"icon.svg", "image/svg+xml"},
      {"logo.PNG", "image/png"},
      {"favicon.ico", "image/x-icon"},
      {"notes.txt", "text/plain; charset=utf-8"},
      {"site.webmanifest", "application/manifest+json"},
      {"font.woff2", "font/woff2"},
      {"blob.bin", "application/octet-stream"},
      {"noext", "application/octet-stream"},
  };
  for (const auto& c : cases) {
    write(root_ + "/" + c.file, std::string("content of ") + c.file);
    Reply r = get(std::string("/") + c.file);
    EXPECT_EQ(r.status, 200) << c.file;
    EXPECT_EQ(r.header("Content-Type"), c.type) << c.file;
    EXPECT_EQ(r.body, std::string("content of ") + c.file);
    EXPECT_EQ(r.header("Content-Length"), std::to_string(r.body.size()));
  }
  for (const char* index : {"/", "/chat.html", "/?x=1", "/chat.html?v=2"}) {
    Reply r = get(index);
    EXPECT_EQ(r.status, 200) << index;
    EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(r.body, "<!doctype html><title>chat</title>");
    EXPECT_EQ(r.header("Cache-Control"), "no-cache");
    EXPECT_EQ(r.header("Last-Modified"), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(r.header("ETag").front(), '"');
  }
  EXPECT_EQ(get("/sub/inner.txt").body, "inner");
  EXPECT_EQ(get("/%73ub/inner%2etxt").body, "inner");  // escapes decoded once
  EXPECT_EQ(get("/in.txt").body, "inner");             // symlink staying inside
}

TEST_F(StaticFilesTest, TraversalAndOddPathsAre404) {
  const struct {
    const char* target;
    int status;
  } cases[] = {
      {"/../etc/passwd", 404},
      {"/%2e%2e/", 404},
      {"/%2e%2e/outside/secret.txt", 404},
      {"/%2E%2E%2Fetc", 404},
      {"/%2E%2E%2Foutside%2Fsecret.txt", 404},
      {"//etc/passwd", 404},
      {"/a/../../x", 404},
      {"/sub/../chat.html", 404},
      {"/./chat.html", 404},
      {"/chat.html%00", 404},
      {"/chat.html%00.txt", 404},
      {"/%00", 404},
      {"/sub%5cinner.txt", 404},
      {"/sub%5c..%5cchat.html", 404},
      {"/out.txt", 404},
      {"/outdir/secret.txt", 404},
      {"/.hidden", 404},
      {"/sub", 404},
      {"/sub/", 404},
      {"/pipe.txt", 404},
      {"/missing.html", 404},
      {"*", 404},
      {"/%2", 400},
      {"/%zz", 400},
      {"/chat.html%", 400},
      {"/%2e%2", 400},
      {"/%252e%252e/chat.html", 404},  // decoded once: "%2e%2e" is a literal name
  };
  for (const auto& c : cases) {
    Reply r = get(c.target);
    EXPECT_EQ(r.status, c.status) << c.target;
    EXPECT_EQ(r.body.find("secret"), std::string::npos) << c.target;
  }
}

TEST_F(StaticFilesTest, HeadHasSameHeadersNoBody) {
  Reply g = get("/chat.html");
  Reply h = get("/chat.html", "", "HEAD");
  EXPECT_EQ(h.status, 200);
  EXPECT_TRUE(h.body.empty());
  for (const char* name : {"Content-Type", "Content-Length", "ETag", "Last-Modified"})
    EXPECT_EQ(h.header(name), g.header(name)) << name;
  Reply missing = get("/nope", "", "HEAD");
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(missing.body.empty());
}

TEST_F(StaticFilesTest, ConditionalRequests) {
  std::string etag = get("/chat.html").header("ETag");
  const struct {
    const char* name;
    std::string headers;
    int status;
  } cases[] = {
      {"If-None-Match equal", "If-None-Match: " + etag + "\r\n", 304},
      {"If-None-Match weak", "If-None-Match: W/" + etag + "\r\n", 304},
      {"If-None-Match in list", "If-None-Match: \"x\", " + etag + "\r\n", 304},
      {"If-None-Match star", "If-None-Match: *\r\n", 304},
      {"If-None-Match other", "If-None-Match: \"other\"\r\n", 200},
      {"If-Modified-Since equal", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n", 304},
      {"If-Modified-Since later", "If-Modified-Since: Mon, 07 Nov 1994 08:49:37 GMT\r\n", 304},
      {"If-Modified-Since earlier", "If-Modified-Since: Sun, 06 Nov 1994 08:49:36 GMT\r\n", 200},
      {"If-Modified-Since unparseable", "If-Modified-Since: yesterday\r\n", 200},
      {"INM mismatch wins over IMS",
       "If-None-Match: \"other\"\r\nIf-Modified-Since: Mon, 07 Nov 1994 08:49:37 GMT\r\n", 200},
      {"INM match wins over old IMS",
       "If-None-Match: " + etag + "\r\nIf-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n", 304},
  };
  for (const auto& c : cases) {
    Reply r = get("/chat.html", c.headers);
    EXPECT_EQ(r.status, c.status) << c.name;
    if (c.status == 304) {
      EXPECT_TRUE(r.body.empty()) << c.name;
      EXPECT_EQ(r.header("ETag"), etag) << c.name;
      EXPECT_EQ(r.header("Content-Length"), "<none>") << c.name;
    }
  }
  // A rewrite changes the ETag, so the old one no longer matches.
  std::ofstream(root_ + "/chat.html", std::ios::binary) << "<!doctype html><title>new</title>!";
  Reply r = get("/chat.html", "If-None-Match: " + etag + "\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.header("ETag"), etag);
}

TEST_F(StaticFilesTest, KeepAliveAndTooLarge) {
  ParsedRequest p("GET /chat.html HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(parse_reply(files_.serve(p.req, false)).header("Connection"), "close");
  EXPECT_EQ(parse_reply(files_.serve(p.req, true)).header("Connection"), "keep-alive");

  std::string big = root_ + "/big.bin";
  write(big, "");
  ASSERT_EQ(truncate(big.c_str(), kMaxStaticFileBytes + 1), 0);
  EXPECT_EQ(get("/big.bin").status, 403);
  ASSERT_EQ(truncate(big.c_str(), kMaxStaticFileBytes), 0);
  Reply r = get("/big.bin", "", "HEAD");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Length"), std::to_string(kMaxStaticFileBytes));
}

TEST(Path, PercentDecodeAndSafety) {
  std::string out;
  EXPECT_TRUE(percent_decode("/a%20b+c%2F", out));
  EXPECT_EQ(out, "/a b+c/");
  EXPECT_FALSE(percent_decode("%", out));
  EXPECT_FALSE(percent_decode("%a", out));
  EXPECT_FALSE(percent_decode("%g0", out));
  const struct {
    std::string path;
    bool safe;
  } cases[] = {
      {"/a", true},     {"/a/b.c", true},
      {"/a..b", true},  {"", false},
      {"a", false},     {"/", false},
      {"/a/", false},   {"//a", false},
      {"/..", false},   {"/a/..", false},
      {"/.", false},    {"/.git/config", false},
      {"/a\\b", false}, {std::string("/a\0b", 4), false},
  };
  for (const auto& c : cases) EXPECT_EQ(is_safe_path(c.path), c.safe) << c.path;
}

}  // namespace
}  // namespace chatd
