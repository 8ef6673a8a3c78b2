#pragma once

#include "world.hpp"

#include <map>
#include <string>
#include <vector>

namespace world {

/// One area server's players. Served on a strand (App::serve), so it needs no locks.
class area_service {
public:
    position enter(std::string uid);
    position move(std::string uid, position to);
    std::vector<player> who() const;
    void shout(std::string uid, std::string text);

private:
    struct state {
        position at;
        std::string said;
    };
    std::map<std::string, state> players_;
};

} // namespace world
