#include "client_pool.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <string_view>

#include "base/sys.h"
#include "handshake.h"
#include "ws/encoder.h"
#include "ws/frame.h"
#include "ws/unmask.h"

namespace chatd::load {

namespace {

constexpr size_t kReadChunk = 256 * 1024;  // one read(2) at most
constexpr size_t kMaxFrame = 128 * 1024;   // any server frame we accept, header included
// A fragmented message reassembled (a history answer: up to 200 events of
// at most a few KiB each).
constexpr size_t kMaxMessage = 4 << 20;
constexpr size_t kMaxResponseHead = 8192;  // the 101 answer
constexpr int kMaxEvents = 1024;           // per epoll_wait

}  // namespace

int64_t mono_us() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return int64_t(t.tv_sec) * 1'000'000 + t.tv_nsec / 1000;
}

ClientPool::ClientPool(const Options& opt, ConnHandler& handler) : opt_(opt), handler_(handler) {
  for (uint16_t port : opt.ports) {
    sockaddr_storage a = opt.addr;
    if (a.ss_family == AF_INET6)
      reinterpret_cast<sockaddr_in6*>(&a)->sin6_port = htons(port);
    else
      reinterpret_cast<sockaddr_in*>(&a)->sin_port = htons(port);
    targets_.push_back(a);
  }
}

long ClientPool::init(uint32_t n) {
  long ep = sys_result(epoll_create1(EPOLL_CLOEXEC));
  if (ep < 0) return ep;
  ep_.reset(static_cast<int>(ep));
  conns_.resize(n);
  for (uint32_t i = 0; i < n; ++i) conns_[i].index = i;
  rbuf_.resize(kMaxFrame + kReadChunk);
  frame_.resize(kMaxClientFrameHeader + kMaxFrame);
  events_.resize(kMaxEvents);
  return 0;
}

void ClientPool::pump_connects(uint32_t cap) {
  while (in_progress_ < cap && next_ < conns_.size()) start_connect(conns_[next_++]);
}

void ClientPool::start_connect(Conn& c) {
  long fd =
      sys_result(::socket(opt_.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd < 0) return close_conn(c, CloseReason::connect_failed, 0);
  c.fd = static_cast<int>(fd);
  c.port_slot = port_slot(opt_, c.index, c.attempts++);
  c.phase = ConnPhase::connecting;
  ++in_progress_;
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (opt_.sources > 0) {
    // Let connect() pick the port per destination, so each source address
    // has its whole ephemeral range for this one server.
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl((127u << 24) | (2 + c.index % opt_.sources));
    if (::bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof src) < 0)
      return close_conn(c, CloseReason::connect_failed, 0);
  }
  long r = sys_result(
      ::connect(c.fd, reinterpret_cast<const sockaddr*>(&targets_[c.port_slot]), opt_.addr_len));
  if (r < 0 && r != -EINPROGRESS) return close_conn(c, CloseReason::connect_failed, 0);
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.u64 = c.index;
  if (epoll_ctl(ep_.get(), EPOLL_CTL_ADD, c.fd, &ev) < 0)
    return close_conn(c, CloseReason::connect_failed, 0);
  c.write_armed = true;
}

int ClientPool::run_once(int64_t timeout_us) {
  if (timeout_us < 0) timeout_us = 0;
  timespec ts{static_cast<time_t>(timeout_us / 1'000'000),
              static_cast<long>(timeout_us % 1'000'000) * 1000};
  int n = epoll_pwait2(ep_.get(), events_.data(), kMaxEvents, &ts, nullptr);
  if (n < 0) return errno == EINTR ? 0 : -errno;
  for (int i = 0; i < n; ++i) {
    Conn& c = conns_[events_[i].data.u64];
    if (c.phase == ConnPhase::closed || c.phase == ConnPhase::idle) continue;
    on_event(c, events_[i].events);
  }
  return n;
}

void ClientPool::on_event(Conn& c, uint32_t events) {
  if (c.phase == ConnPhase::connecting) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(c);
    return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
  if (c.phase != ConnPhase::closed && (events & EPOLLOUT)) flush_pending(c);
}

void ClientPool::on_connected(Conn& c) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) return close_conn(c, CloseReason::connect_failed, 0);
  c.phase = ConnPhase::upgrading;
  std::string req = make_upgrade_request(opt_.host, opt_.ports[c.port_slot], mask_state_, c.accept);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = c.index;
  epoll_ctl(ep_.get(), EPOLL_CTL_MOD, c.fd, &ev);
  c.write_armed = false;
  queue_bytes(c, req.data(), req.size());
}

void ClientPool::on_readable(Conn& c) {
  // Read behind room for the carried tail, then put the tail in front of the
  // new bytes: the frame scan always sees one contiguous run.
  uint8_t* fresh = rbuf_.data() + kMaxFrame;
  long r = sys_retry([&] { return ::read(c.fd, fresh, kReadChunk); });
  if (r == -EAGAIN) return;
  if (r <= 0) return close_conn(c, CloseReason::eof, 0);
  read_time_us_ = mono_us();
  size_t carried = c.carry.size();
  uint8_t* start = fresh - carried;
  if (carried) std::memcpy(start, c.carry.data(), carried);
  size_t total = carried + static_cast<size_t>(r);
  long used = consume(c, start, total);
  if (used < 0) return;
  size_t rest = total - static_cast<size_t>(used);
  if (rest > kMaxFrame) return close_conn(c, CloseReason::protocol_error, 0);
  c.carry.assign(start + used, start + total);
}

long ClientPool::consume_head(Conn& c, const uint8_t* data, size_t n) {
  std::string_view text(reinterpret_cast<const char*>(data), n);
  size_t end = text.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (n > kMaxResponseHead) close_conn(c, CloseReason::handshake_failed, 0);
    return n > kMaxResponseHead ? -1 : 0;
  }
  if (!upgrade_accepted(text.substr(0, end + 4), c.accept)) {
    close_conn(c, CloseReason::handshake_failed, 0);
    return -1;
  }
  c.phase = ConnPhase::open;
  std::string().swap(c.accept);
  --in_progress_;
  ++opened_;
  handler_.on_open(c);
  return static_cast<long>(end + 4);
}

// Events come as whole text frames; a history answer as one fragmented
// message (RFC 6455 section 5.4: a text frame without FIN, continuations,
// the last with FIN; control frames may come between), reassembled here.
bool ClientPool::data_frame(Conn& c, bool text, bool fin, const char* p, size_t n) {
  if (text == c.in_message) {  // a new message inside one, or a continuation outside
    close_conn(c, CloseReason::protocol_error, 0);
    return false;
  }
  if (text && fin) {
    handler_.on_text(c, p, n);
    return true;
  }
  if (c.fragments.size() + n > kMaxMessage) {
    close_conn(c, CloseReason::protocol_error, 0);
    return false;
  }
  c.fragments.append(p, n);
  c.in_message = !fin;
  if (fin) {
    handler_.on_text(c, c.fragments.data(), c.fragments.size());
    std::string().swap(c.fragments);  // a quiet connection keeps no buffer
  }
  return true;
}

long ClientPool::consume(Conn& c, uint8_t* data, size_t n) {
  size_t pos = 0;
  if (c.phase == ConnPhase::upgrading) {
    long used = consume_head(c, data, n);
    if (used <= 0) return used;
    pos = static_cast<size_t>(used);
  }
  while (pos < n) {
    FrameHeader h;
    HeaderResult hr = parse_frame_header(data + pos, n - pos, h, MaskRule::forbidden);
    if (hr.status == HeaderStatus::need_more) break;
    if (hr.status == HeaderStatus::error || h.payload_len > kMaxFrame - h.header_len) {
      close_conn(c, CloseReason::protocol_error, hr.close_code);
      return -1;
    }
    if (n - pos - h.header_len < h.payload_len) break;
    const char* payload = reinterpret_cast<const char*>(data + pos + h.header_len);
    size_t len = static_cast<size_t>(h.payload_len);
    pos += h.header_len + len;
    switch (h.opcode) {
      case Opcode::text:
      case Opcode::continuation:
        if (!data_frame(c, h.opcode == Opcode::text, h.fin, payload, len)) return -1;
        break;
      case Opcode::ping: {
        uint8_t mask[4];
        uint64_t m = next_random(mask_state_);
        std::memcpy(mask, &m, 4);
        size_t hl = write_client_frame_header(frame_.data(), Opcode::pong, len, mask);
        mask_copy(frame_.data() + hl, reinterpret_cast<const uint8_t*>(payload), len, mask);
        queue_bytes(c, reinterpret_cast<const char*>(frame_.data()), hl + len);
        break;
      }
      case Opcode::pong:
        break;
      case Opcode::close: {
        uint16_t code =
            len >= 2 ? uint16_t((uint8_t(payload[0]) << 8) | uint8_t(payload[1])) : 1005;
        close_conn(c, CloseReason::close_frame, code);
        return -1;
      }
      default:
        close_conn(c, CloseReason::protocol_error, 0);
        return -1;
    }
    if (c.phase == ConnPhase::closed) return -1;
  }
  return static_cast<long>(pos);
}

bool ClientPool::send_text(Conn& c, const char* p, size_t n) {
  return send_frame(c, Opcode::text, p, n);
}

bool ClientPool::send_close(Conn& c, uint16_t code) {
  const char payload[2] = {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
  return send_frame(c, Opcode::close, payload, sizeof payload);
}

bool ClientPool::send_frame(Conn& c, Opcode op, const char* p, size_t n) {
  if (c.phase != ConnPhase::open || n > kMaxFrame) return false;
  uint8_t mask[4];
  uint64_t m = next_random(mask_state_);
  std::memcpy(mask, &m, 4);
  size_t hl = write_client_frame_header(frame_.data(), op, n, mask);
  mask_copy(frame_.data() + hl, reinterpret_cast<const uint8_t*>(p), n, mask);
  queue_bytes(c, reinterpret_cast<const char*>(frame_.data()), hl + n);
  return c.phase == ConnPhase::open;
}

void ClientPool::restart(Conn& c) {
  if (c.phase != ConnPhase::idle && c.phase != ConnPhase::closed) return;
  c.reading = true;
  c.write_armed = false;
  start_connect(c);
}

void ClientPool::set_reading(Conn& c, bool on) {
  if (c.phase != ConnPhase::open || c.reading == on) return;
  c.reading = on;
  epoll_event ev{};
  ev.events = (on ? EPOLLIN : 0u) | (c.write_armed ? EPOLLOUT : 0u);
  ev.data.u64 = c.index;
  epoll_ctl(ep_.get(), EPOLL_CTL_MOD, c.fd, &ev);
}

void ClientPool::abort(Conn& c, bool reset) {
  if (c.phase == ConnPhase::idle || c.phase == ConnPhase::closed) return;
  if (reset) {
    linger lg{1, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  close_conn(c, CloseReason::local, 0);
}

void ClientPool::queue_bytes(Conn& c, const char* p, size_t n) {
  if (c.pending.empty()) {
    long w = sys_retry([&] { return ::send(c.fd, p, n, MSG_NOSIGNAL); });
    if (w < 0 && w != -EAGAIN) return close_conn(c, CloseReason::eof, 0);
    size_t done = w < 0 ? 0 : static_cast<size_t>(w);
    if (done == n) return;
    p += done;
    n -= done;
  }
  c.pending.append(p, n);
  if (!c.write_armed) {
    epoll_event ev{};
    ev.events = (c.reading ? EPOLLIN : 0u) | EPOLLOUT;
    ev.data.u64 = c.index;
    epoll_ctl(ep_.get(), EPOLL_CTL_MOD, c.fd, &ev);
    c.write_armed = true;
  }
}

void ClientPool::flush_pending(Conn& c) {
  if (!c.pending.empty()) {
    long w =
        sys_retry([&] { return ::send(c.fd, c.pending.data(), c.pending.size(), MSG_NOSIGNAL); });
    if (w < 0 && w != -EAGAIN) return close_conn(c, CloseReason::eof, 0);
    if (w > 0) c.pending.erase(0, static_cast<size_t>(w));
  }
  if (c.pending.empty() && c.write_armed) {
    epoll_event ev{};
    ev.events = c.reading ? EPOLLIN : 0u;
    ev.data.u64 = c.index;
    epoll_ctl(ep_.get(), EPOLL_CTL_MOD, c.fd, &ev);
    c.write_armed = false;
  }
}

void ClientPool::close_conn(Conn& c, CloseReason why, uint16_t code) {
  if (c.phase == ConnPhase::connecting || c.phase == ConnPhase::upgrading) --in_progress_;
  if (c.fd >= 0) ::close(c.fd);  // closing also drops it from the epoll set
  c.fd = -1;
  c.phase = ConnPhase::closed;
  std::vector<uint8_t>().swap(c.carry);
  std::string().swap(c.pending);
  handler_.on_closed(c, why, code);
}

}  // namespace chatd::load
