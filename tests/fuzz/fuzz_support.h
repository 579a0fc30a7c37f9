#pragma once
// What the fuzz targets share: a rule set compiled once per process from text.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "compiler/driver/driver.h"

namespace trig::fuzz {

// Every type a field can have, optional and required, list fields, traits of every type, and a
// template over them: the schema the event and render targets decode and render against.
inline constexpr const char* kSchema = R"(
event ev { s: string, s2?: string, i: int, i2?: int, f: float, f2?: float, m: money, m2?: money,
           b?: bool, t?: time, d?: duration, tags?: [string], nums?: [int] }
event other passive { s?: string }
customer { vip?: bool, age?: int, score?: float, ltv?: money, tier?: string, joined?: time }
template t { subject "Hi {{ customer.first_name | default "there" }}" body "{{ s }} {{ m }} {{ tags | default "none" }}" }
trigger r: when ev and idle 1m send t
)";

// Compiles `source` as one rule file (written to a scratch file: the driver reads paths);
// aborts when it does not check, since every target's meaning depends on it.
inline std::unique_ptr<Compilation> compileOnce(const std::string& source) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") +
                     "/trig-fuzz-schema-" + std::to_string(::getpid()) + ".trig";
  std::ofstream(path) << source;
  auto c = compile({path});
  std::remove(path.c_str());
  if (!c->ok()) {
    std::fprintf(stderr, "fuzz: the target's rule set does not check\n");
    std::abort();
  }
  return c;
}

}  // namespace trig::fuzz
