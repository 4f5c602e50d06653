#include "pttcam/session/output.hpp"

#include <iterator>

namespace pttcam::session {

void Output::append(Output&& other) {
  send.insert(send.end(), std::make_move_iterator(other.send.begin()), std::make_move_iterator(other.send.end()));
  events.insert(events.end(), std::make_move_iterator(other.events.begin()),
                std::make_move_iterator(other.events.end()));
  actions.insert(actions.end(), std::make_move_iterator(other.actions.begin()),
                 std::make_move_iterator(other.actions.end()));
  other.send.clear();
  other.actions.clear();
  other.events.clear();
}

}  // namespace pttcam::session
