// ClientPool: many WebSocket client connections on one epoll loop, the
// load generator's whole I/O layer. It connects (with a cap on connections in
// progress), performs the HTTP upgrade, splits the byte stream into frames
// with the project's parse_frame_header, answers pings, and hands each text
// message to a ConnHandler. Sends are masked client frames (ws/encoder.h).
//
// Ownership: the pool owns every Conn and its fd; the handler owns nothing
// here and is called synchronously from run_once(). Reads go through one
// shared buffer; only the unfinished tail of a frame is kept per connection,
// so a quiet connection costs a few dozen bytes. Connection k connects to
// Options::ports round-robin (port_slot), one further on each reconnect.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/fd.h"
#include "options.h"
#include "ws/frame.h"

namespace chatd::load {

enum class ConnPhase : uint8_t { idle, connecting, upgrading, open, closed };

struct Conn {
  int fd = -1;
  uint32_t index = 0;
  uint32_t attempts = 0;   // connects started on this slot (churn and resume reconnect)
  uint32_t port_slot = 0;  // which of Options::ports the current attempt went to
  ConnPhase phase = ConnPhase::idle;
  bool write_armed = false;
  bool reading = true;
  bool in_message = false;     // between the fragments of one message
  std::string accept;          // the Sec-WebSocket-Accept we expect while upgrading
  std::vector<uint8_t> carry;  // an unfinished frame (or response head)
  std::string pending;         // output a short write left behind
  std::string fragments;       // a fragmented message so far
};

// Why a connection ended: the counters a report shows.
enum class CloseReason : uint8_t {
  connect_failed,    // connect(2) or SO_ERROR failed
  handshake_failed,  // not a 101 with the right accept key
  protocol_error,    // a frame we cannot accept (masked, binary, oversized)
  close_frame,       // the server sent a close frame
  eof,               // the stream ended or was reset
  local,             // we ended it ourselves (abort)
};

class ConnHandler {
 public:
  virtual ~ConnHandler() = default;
  // The upgrade succeeded; the connection may send.
  virtual void on_open(Conn& c) = 0;
  // One whole text message; `p` is valid only during the call.
  virtual void on_text(Conn& c, const char* p, size_t n) = 0;
  // The connection is gone (its fd is already closed).
  virtual void on_closed(Conn& c, CloseReason why, uint16_t code) = 0;
};

class ClientPool {
 public:
  ClientPool(const Options& opt, ConnHandler& handler);

  // Creates the epoll instance and `n` idle connections; 0 or -errno.
  long init(uint32_t n);
  // Starts connects until `cap` are in progress or none is left idle.
  void pump_connects(uint32_t cap);
  // Waits up to timeout_us for I/O and handles it; returns events handled or -errno.
  int run_once(int64_t timeout_us);
  // Sends one masked text frame; false if the connection is not open.
  bool send_text(Conn& c, const char* p, size_t n);
  // Sends a masked close frame with `code`; false if the connection is not open.
  bool send_close(Conn& c, uint16_t code);
  // Starts a new connect on an idle or closed connection (churn reuses slots).
  void restart(Conn& c);
  // Stops (false) or resumes (true) reading from an open connection.
  void set_reading(Conn& c, bool on);
  // Closes the connection now, with a TCP RST (SO_LINGER 0) if `reset`;
  // reports CloseReason::local.
  void abort(Conn& c, bool reset);

  Conn& conn(uint32_t i) { return conns_[i]; }
  uint32_t size() const { return static_cast<uint32_t>(conns_.size()); }
  uint32_t started() const { return next_; }
  uint32_t in_progress() const { return in_progress_; }
  uint32_t opened() const { return opened_; }
  // The time the read path last took (microseconds, CLOCK_MONOTONIC): every
  // frame handled in one read arrived at that moment.
  int64_t read_time_us() const { return read_time_us_; }

 private:
  void start_connect(Conn& c);
  void on_event(Conn& c, uint32_t events);
  void on_connected(Conn& c);
  void on_readable(Conn& c);
  // Consumes what it can of data[0, n); returns bytes used or -1 after close.
  long consume(Conn& c, uint8_t* data, size_t n);
  long consume_head(Conn& c, const uint8_t* data, size_t n);
  bool send_frame(Conn& c, Opcode op, const char* p, size_t n);
  // One text or continuation frame; false when it broke the fragment rules
  // (the connection is closed).
  bool data_frame(Conn& c, bool text, bool fin, const char* p, size_t n);
  void queue_bytes(Conn& c, const char* p, size_t n);
  void flush_pending(Conn& c);
  void close_conn(Conn& c, CloseReason why, uint16_t code);

  const Options& opt_;
  ConnHandler& handler_;
  std::vector<sockaddr_storage> targets_;  // Options::addr with each of Options::ports
  UniqueFd ep_;
  std::vector<Conn> conns_;
  std::vector<uint8_t> rbuf_;   // carry space + one read
  std::vector<uint8_t> frame_;  // one outgoing frame
  std::vector<epoll_event> events_;
  uint32_t next_ = 0;
  uint32_t in_progress_ = 0;
  uint32_t opened_ = 0;
  uint64_t mask_state_ = 0x9E3779B97F4A7C15ull;
  int64_t read_time_us_ = 0;
};

// Microseconds on CLOCK_MONOTONIC.
int64_t mono_us();

}  // namespace chatd::load
