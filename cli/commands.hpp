// Verb handlers: the glue between the bus client and the formatters.
#pragma once

#include "verbs.hpp"

namespace wsheart::cli {

int verb_status(const Invocation& invocation, Context& context);
int verb_list(const Invocation& invocation, Context& context);
int verb_monitor(const Invocation& invocation, Context& context);
int verb_send(const Invocation& invocation, Context& context);
int verb_reconnect(const Invocation& invocation, Context& context);
int verb_reload(const Invocation& invocation, Context& context);
int verb_recent(const Invocation& invocation, Context& context);
int verb_notify(const Invocation& invocation, Context& context);

}  // namespace wsheart::cli
