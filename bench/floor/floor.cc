#include "floor.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "wire.h"

namespace floorsrv {

volatile sig_atomic_t g_stop = 0;

namespace {

int64_t now_ms() {
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return int64_t(t.tv_sec) * 1000 + t.tv_nsec / 1'000'000;
}

}  // namespace

bool Floor::listen_on(const char* host, int port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) return false;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return false;
  if (::listen(listener_, 4096) < 0) return false;
  ep_ = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listener_;
  epoll_ctl(ep_, EPOLL_CTL_ADD, listener_, &ev);
  socklen_t len = sizeof a;
  getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);  // the port, when 0 was asked
  std::fprintf(stderr, "floor listening on %s:%d (batch)\n", host, ntohs(a.sin_port));
  return true;
}

void Floor::accept_all() {
  for (;;) {
    int fd = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK);
    if (fd < 0) return;  // EAGAIN, or out of fds: try again on the next wakeup
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Conn& c = slot(fd);
    c = Conn{};
    c.fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  }
}

void Floor::queue(Conn& c, const char* p, size_t n) {
  if (c.dead) return;
  c.out.append(p, n);
  if (c.out.size() > kMaxBacklog) {
    c.dead = true;
    dead_.push_back(c.fd);
  }
  if (!c.dirty) {
    c.dirty = true;
    dirty_.push_back(c.fd);
  }
}

void Floor::broadcast(const std::string& json) {
  uint8_t h[10];
  size_t hl = text_header(h, json.size());
  turn_.append(reinterpret_cast<const char*>(h), hl);
  turn_.append(json);
}

void Floor::on_text(Conn& c, std::string_view text) {
  ClientMsg m = scan_msg(text);
  std::string json;
  if (m.type == "join" && !c.joined) {
    c.joined = true;
    c.nick.assign(m.nick);
    c.from = turn_.size();  // its share starts with its own join event
    members_.push_back(c.fd);
    json = "{\"type\":\"welcome\",\"nick\":\"" + c.nick + "\",\"users\":[";
    for (size_t i = 0; i < members_.size(); ++i)
      json += (i ? ",\"" : "\"") + conns_[size_t(members_[i])].nick + "\"";
    json += "]}";
    uint8_t h[10];
    size_t hl = text_header(h, json.size());
    queue(c, reinterpret_cast<const char*>(h), hl);
    queue(c, json.data(), json.size());
    json = "{\"type\":\"system\",\"event\":\"join\",\"nick\":\"" + c.nick + "\",\"text\":\"" +
           c.nick + " joined\",\"id\":" + std::to_string(next_id_++) +
           ",\"ts\":" + std::to_string(now_ms()) + "}";
    broadcast(json);
  } else if (m.type == "msg" && c.joined) {
    json = "{\"type\":\"msg\",\"nick\":\"" + c.nick + "\",\"msg\":\"";
    json.append(m.msg);
    json += "\",\"id\":" + std::to_string(next_id_++) + ",\"ts\":" + std::to_string(now_ms()) + "}";
    broadcast(json);
  }
}

void Floor::on_readable(Conn& c) {
  ssize_t r = ::read(c.fd, rbuf_.data(), rbuf_.size());
  if (r < 0 && errno == EAGAIN) return;
  if (r <= 0) {
    c.dead = true;
    dead_.push_back(c.fd);
    return;
  }
  c.in.append(rbuf_.data(), size_t(r));
  size_t pos = 0;
  if (!c.upgraded) {
    size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (c.in.size() > kMaxHead) c.dead = true, dead_.push_back(c.fd);
      return;
    }
    std::string answer = upgrade_answer(std::string_view(c.in).substr(0, end + 4));
    if (answer.empty()) {
      const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
      (void)!::write(c.fd, bad, sizeof bad - 1);
      c.dead = true;
      dead_.push_back(c.fd);
      return;
    }
    queue(c, answer.data(), answer.size());
    c.upgraded = true;
    pos = end + 4;
  }
  while (!c.dead && pos < c.in.size()) {
    auto* p = reinterpret_cast<uint8_t*>(c.in.data()) + pos;
    ClientFrame f = take_frame(p, c.in.size() - pos, kMaxPayload);
    if (f.status == ClientFrame::Status::need_more) break;
    if (f.status == ClientFrame::Status::bad || f.opcode == 0x8) {
      c.dead = true;
      dead_.push_back(c.fd);
      break;
    }
    if (f.opcode == 0x1)
      on_text(c, std::string_view(reinterpret_cast<char*>(p) + f.payload_off, f.payload_len));
    pos += f.size;
  }
  c.in.erase(0, pos);
  if (c.in.empty()) std::string().swap(c.in);  // idle connections hold no buffer
}

// Writes c.out (its own bytes, then any shared ones a short write left);
// arms EPOLLOUT while some remain, frees the buffer once it is empty.
void Floor::write_out(Conn& c) {
  ssize_t w = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
  if (w < 0 && errno != EAGAIN) {
    c.dead = true;
    dead_.push_back(c.fd);
    return;
  }
  if (w > 0) c.out.erase(0, size_t(w));
  // Backlogs are rare (joiners, slow readers): what one held should not
  // stay on as memory per connection.
  if (c.out.empty()) std::string().swap(c.out);
  bool want_out = !c.out.empty();
  if (want_out != c.out_armed) {
    epoll_event ev{};
    ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0u);
    ev.data.fd = c.fd;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    c.out_armed = want_out;
  }
}

void Floor::flush_all() {
  if (!turn_.empty()) {
    for (int fd : members_) {
      Conn& c = conns_[size_t(fd)];
      const size_t from = c.from;
      c.from = 0;
      if (c.dead || from >= turn_.size()) continue;
      if (!c.out.empty()) {  // its own bytes go first
        queue(c, turn_.data() + from, turn_.size() - from);
        continue;
      }
      ssize_t w = ::send(c.fd, turn_.data() + from, turn_.size() - from, MSG_NOSIGNAL);
      if (w < 0 && errno != EAGAIN) {
        c.dead = true;
        dead_.push_back(fd);
        continue;
      }
      size_t done = w > 0 ? size_t(w) : 0;
      if (from + done < turn_.size())
        queue(c, turn_.data() + from + done, turn_.size() - from - done);
    }
    turn_.clear();
  }
  for (size_t i = 0; i < dirty_.size(); ++i) {
    Conn& c = conns_[size_t(dirty_[i])];
    c.dirty = false;
    if (!c.dead && !c.out.empty()) write_out(c);
  }
  dirty_.clear();
}

// Closes the connections marked dead this turn; each joined one is a leave
// event for the rest (queued, so the next flush sends it).
void Floor::reap() {
  for (size_t i = 0; i < dead_.size(); ++i) {
    Conn& c = conns_[size_t(dead_[i])];
    if (c.fd < 0) continue;
    ::close(c.fd);
    c.fd = -1;
    if (c.joined) {
      for (size_t m = 0; m < members_.size(); ++m)
        if (members_[m] == dead_[i]) {
          members_.erase(members_.begin() + long(m));
          break;
        }
      broadcast("{\"type\":\"system\",\"event\":\"leave\",\"nick\":\"" + c.nick + "\",\"text\":\"" +
                c.nick + " left\",\"id\":" + std::to_string(next_id_++) +
                ",\"ts\":" + std::to_string(now_ms()) + "}");
    }
    c = Conn{};
  }
  dead_.clear();
}

void Floor::run() {
  std::vector<epoll_event> events(kMaxEvents);
  while (!g_stop) {
    int n = epoll_wait(ep_, events.data(), kMaxEvents, 1000);
    for (int i = 0; i < n; ++i) {
      int fd = events[size_t(i)].data.fd;
      if (fd == listener_) {
        accept_all();
        continue;
      }
      Conn& c = conns_[size_t(fd)];
      if (c.fd < 0 || c.dead) continue;
      if (events[size_t(i)].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
      if ((events[size_t(i)].events & EPOLLOUT) && !c.dirty && !c.dead) {
        c.dirty = true;
        dirty_.push_back(fd);
      }
    }
    // A failed write marks a member dead, whose leave event dirties the rest.
    while (!dirty_.empty() || !dead_.empty() || !turn_.empty()) {
      reap();
      flush_all();
    }
  }
}

}  // namespace floorsrv
