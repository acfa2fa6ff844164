// Connections from a --trusted-proxy: the per-IP limit counts the client the
// proxy names in X-Forwarded-For, not the proxy, so one proxy can carry many
// clients and each client still gets --max-conn-per-ip.
//
// At accept nothing is known but the proxy's address, so its connections are
// not counted per IP until their first request head (only --max-conn and the
// head timeout bound them meanwhile). Each head then moves the connection to
// the address it names: a proxy that reuses one upstream connection for
// several clients (keep-alive) has each request counted as its own client's.
// A head without the header leaves the connection where it is: under the
// proxy's own address until a head names a client.
#include "app/forwarded.h"
#include "app/server.h"
#include "http/response.h"

namespace chatd {

bool Server::attribute_client(Connection& c, const Request& req) {
  std::optional<sockaddr_storage> client = forwarded_client(req, config_.trusted_proxies);
  IpKey ip = client ? ip_key(*client, 64) : c.ip;
  if (c.ip_counted && ip == c.ip) return true;
  uint64_t key = ip_key_hash(ip);
  auto it = per_ip_.find(key);
  if (it != per_ip_.end() && it->second >= config_.max_conn_per_ip) {
    ++metrics_.connections_refused;
    enqueue(c, make_error_response(503, false, false));
    close_after_response(c);
    return false;
  }
  if (c.ip_counted) {
    auto old = per_ip_.find(ip_key_hash(c.ip));
    if (old != per_ip_.end() && --old->second == 0) per_ip_.erase(old);
  }
  ++per_ip_[key];
  c.ip = ip;
  c.ip_counted = true;
  return true;
}

}  // namespace chatd
