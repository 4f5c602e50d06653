#include "pttcam/net/datagram.hpp"

#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pttcam::net {

bool enable_arrival_stamps(Udp::socket& socket) noexcept {
  const int on = 1;
  return ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) == 0;
}

namespace {

std::int64_t to_us(const timespec& t) { return std::int64_t{t.tv_sec} * 1'000'000 + t.tv_nsec / 1000; }

std::optional<std::int64_t> stamp_age(msghdr& msg) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
    timespec stamped{};
    std::memcpy(&stamped, CMSG_DATA(c), sizeof stamped);
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    return std::clamp<std::int64_t>(to_us(now) - to_us(stamped), 0, 1'000'000);
  }
  return std::nullopt;
}

}  // namespace

Received receive_stamped(Udp::socket& socket, std::span<std::byte> buffer, Udp::endpoint& from) noexcept {
  iovec iov{buffer.data(), buffer.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec)) + 64];
  msghdr msg{};
  msg.msg_name = from.data();
  msg.msg_namelen = static_cast<socklen_t>(from.capacity());
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  Received r;
  const ssize_t n = ::recvmsg(socket.native_handle(), &msg, MSG_DONTWAIT);
  if (n < 0) {
    r.error = std::error_code(errno == EWOULDBLOCK ? EAGAIN : errno, std::generic_category());
    return r;
  }
  from.resize(msg.msg_namelen);
  r.size = static_cast<std::size_t>(n);
  r.age_us = stamp_age(msg);
  return r;
}

}  // namespace pttcam::net
