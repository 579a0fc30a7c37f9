// The process JIT (see jit.h). Compiling a rule set:
//   cache key (sources + build + target + options) -> [hit: object from disk, entries from the
//   manifest inside it] -> otherwise lower (fresh ThreadSafeContext) -> [verify] -> manifest ->
//   IR pipeline -> object code -> store in the cache
//   -> link into a new JITDylib through a ResourceTracker -> look every entry symbol up at once.
#include "compiler/jit/jit.h"

#include <llvm/ADT/StringExtras.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/CompileUtils.h>
#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/MapperJITLinkMemoryManager.h>
#include <llvm/ExecutionEngine/Orc/MemoryMapper.h>
#include <llvm/ExecutionEngine/Orc/ObjectLinkingLayer.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/BLAKE3.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <elf.h>
#include <fmt/format.h>
#include <link.h>
#include <time.h>

#include <strings.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <sstream>

#include "compiler/jit/object_cache.h"
#include "runtime/abi/abi.h"

namespace trig::jit {
namespace {

// Bump when the ABI or the helpers change meaning: cached objects of older versions then miss.
constexpr const char* kJitVersion = "trig-jit-1";

using Clock = std::chrono::steady_clock;
double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// CPU time of the calling thread: what a phase costs, whatever else the machine is doing.
double threadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

[[noreturn]] void fail(const std::string& what, llvm::Error err) {
  throw JitError(what + ": " + llvm::toString(std::move(err)));
}

template <typename T>
T check(llvm::Expected<T> v, const std::string& what) {
  if (!v) fail(what, v.takeError());
  return std::move(*v);
}

llvm::CodeGenOptLevel codeGenLevel(unsigned opt) {
  switch (opt) {
    case 0: return llvm::CodeGenOptLevel::None;
    case 1: return llvm::CodeGenOptLevel::Less;
    case 2: return llvm::CodeGenOptLevel::Default;
    default: return llvm::CodeGenOptLevel::Aggressive;
  }
}

// The one LLJIT of the process, created on first use and kept until exit (rule sets unload
// their own code; the JIT itself is never torn down, so no static destruction order issues).
class ProcessJit {
 public:
  static ProcessJit& get() {
    static ProcessJit* instance = new ProcessJit();
    return *instance;
  }

  llvm::orc::LLJIT& lljit() { return *jit_; }
  llvm::orc::JITDylib& abiDylib() { return *abi_; }
  const llvm::orc::JITTargetMachineBuilder& targetBuilder() const { return jtmb_; }
  std::mutex& mutex() { return mutex_; }
  uint64_t nextId() { return ++ids_; }

 private:
  ProcessJit() : jtmb_(init()) {
    jit_ = check(
        llvm::orc::LLJITBuilder()
            .setJITTargetMachineBuilder(jtmb_)
            .setObjectLinkingLayerCreator(
                [](llvm::orc::ExecutionSession& es,
                   const llvm::Triple&) -> llvm::Expected<std::unique_ptr<llvm::orc::ObjectLayer>> {
                  // Code and data of many small objects share large reservations instead of
                  // mapping (and unmapping) pages for each object.
                  auto mm = llvm::orc::MapperJITLinkMemoryManager::CreateWithMapper<
                      llvm::orc::InProcessMemoryMapper>(size_t{64} << 20);
                  if (!mm) return mm.takeError();
                  return std::make_unique<llvm::orc::ObjectLinkingLayer>(es, std::move(*mm));
                })
            .create(),
        "cannot create the JIT");
    // Bare libraries, outside LLJIT's default link order: compiled rules may call the helpers
    // registered here and nothing else of the process.
    abi_ = &jit_->getExecutionSession().createBareJITDylib("trig.abi");
    llvm::orc::SymbolMap symbols;
    size_t n = 0;
    const abi::HelperSymbol* helpers = abi::helperSymbols(&n);
    auto define = [&](const char* name, void* addr) {
      symbols[jit_->mangleAndIntern(name)] = {
          llvm::orc::ExecutorAddr::fromPtr(addr),
          llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable};
    };
    for (size_t i = 0; i < n; ++i) define(helpers[i].name, helpers[i].address);
    // The code generator may turn copies and compares into libc calls.
    define("memcpy", reinterpret_cast<void*>(&std::memcpy));
    define("memmove", reinterpret_cast<void*>(&std::memmove));
    define("memset", reinterpret_cast<void*>(&std::memset));
    define("memcmp", reinterpret_cast<void*>(&std::memcmp));
    // memcmp(...) == 0 becomes bcmp at -O2.
    define("bcmp", reinterpret_cast<void*>(&::bcmp));  // NOLINT(bugprone-unsafe-functions)
    if (llvm::Error err = abi_->define(llvm::orc::absoluteSymbols(std::move(symbols))))
      fail("cannot register the runtime helpers", std::move(err));
  }

  static llvm::orc::JITTargetMachineBuilder init() {
    // TRIG_LLVM_ARGS passes options to LLVM itself (diagnosis: "-time-passes",
    // "-fast-isel-report-on-fallback", ...), as `llc` would take them.
    if (const char* args = std::getenv("TRIG_LLVM_ARGS"); args != nullptr && *args != '\0') {
      static std::vector<std::string> words;
      std::istringstream in(args);
      for (std::string w; in >> w;) words.push_back(w);
      std::vector<const char*> argv{"trig"};
      for (const auto& w : words) argv.push_back(w.c_str());
      llvm::cl::ParseCommandLineOptions(static_cast<int>(argv.size()), argv.data(), "trig JIT\n");
    }
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    auto jtmb =
        check(llvm::orc::JITTargetMachineBuilder::detectHost(), "cannot detect the host target");
    // Small code model and PIC: JITLink places stubs for far calls, and the fast instruction
    // selector (the -O0 tier) handles calls only in this model.
    jtmb.setCodeModel(llvm::CodeModel::Small);
    jtmb.setRelocationModel(llvm::Reloc::PIC_);
    return jtmb;
  }

  llvm::orc::JITTargetMachineBuilder jtmb_;
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  llvm::orc::JITDylib* abi_ = nullptr;
  std::mutex mutex_;
  uint64_t ids_ = 0;
};

std::unique_ptr<llvm::TargetMachine> targetMachine(unsigned optLevel) {
  llvm::orc::JITTargetMachineBuilder jtmb = ProcessJit::get().targetBuilder();
  jtmb.setCodeGenOptLevel(codeGenLevel(optLevel));
  return check(jtmb.createTargetMachine(), "cannot create the target machine");
}

void verify(const llvm::Module& m) {
  std::string msg;
  llvm::raw_string_ostream os(msg);
  if (llvm::verifyModule(m, &os)) throw JitError("the lowering produced invalid IR:\n" + msg);
}

// The IR pipeline of `optLevel`. A set `cancel` skips the passes that remain (optional passes
// only, so the module stays valid), which ends a cancelled background compile quickly.
void optimize(llvm::Module& m, llvm::TargetMachine& tm, unsigned optLevel,
              const std::atomic<bool>* cancel = nullptr) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassInstrumentationCallbacks pic;
  if (cancel != nullptr)
    pic.registerShouldRunOptionalPassCallback(
        [cancel](llvm::StringRef, llvm::Any) { return !cancel->load(std::memory_order_relaxed); });
  llvm::PassBuilder pb(&tm, llvm::PipelineTuningOptions(), std::nullopt, &pic);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel level = optLevel == 0   ? llvm::OptimizationLevel::O0
                                  : optLevel == 1 ? llvm::OptimizationLevel::O1
                                  : optLevel == 2 ? llvm::OptimizationLevel::O2
                                                  : llvm::OptimizationLevel::O3;
  llvm::ModulePassManager mpm =
      optLevel == 0 ? pb.buildO0DefaultPipeline(level) : pb.buildPerModuleDefaultPipeline(level);
  mpm.run(m, mam);
}

// This build of trig: the GNU build id of the executable (any change to the code that lowers or
// runs rules changes it), or, without one, a hash of the executable file.
const std::string& buildIdentity() {
  static const std::string id = [] {
    std::string found;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* out) -> int {
          // The first object is the executable itself.
          auto* result = static_cast<std::string*>(out);
          for (int i = 0; i < info->dlpi_phnum; ++i) {
            const ElfW(Phdr)& ph = info->dlpi_phdr[i];
            if (ph.p_type != PT_NOTE) continue;
            const char* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
            const char* end = p + ph.p_memsz;
            while (p + sizeof(ElfW(Nhdr)) <= end) {
              const auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
              const char* name = p + sizeof(ElfW(Nhdr));
              const char* desc = name + ((note->n_namesz + 3) & ~3u);
              if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
                  std::memcmp(name, "GNU", 4) == 0 && desc + note->n_descsz <= end) {
                *result = "build-id:" + llvm::toHex(llvm::StringRef(desc, note->n_descsz), true);
                return 1;
              }
              p = desc + ((note->n_descsz + 3) & ~3u);
            }
          }
          return 1;
        },
        &found);
    if (!found.empty()) return found;
    auto exe = llvm::MemoryBuffer::getFile("/proc/self/exe", false, false);
    if (!exe) return std::string("unknown-build");
    auto digest = llvm::BLAKE3::hash<16>(llvm::arrayRefFromStringRef((*exe)->getBuffer()));
    return "exe:" + llvm::toHex(digest, true);
  }();
  return id;
}

// The cache key: everything the object code depends on. The lowering is a function of the
// program's sources (prelude, imports and template files included, with their paths) and of
// this build, so hashing those inputs identifies the output without producing it.
std::string cacheKey(const Compilation& c, const llvm::TargetMachine& tm, const JitOptions& o) {
  llvm::BLAKE3 h;
  auto field = [&](llvm::StringRef s) {
    h.update(std::to_string(s.size()) + ":");
    h.update(s);
  };
  field(kJitVersion);
  field(buildIdentity());
  field(LLVM_VERSION_STRING);
  field(tm.getTargetTriple().str());
  field(tm.getTargetCPU());
  field(tm.getTargetFeatureString());
  field("O" + std::to_string(o.optLevel) +
        (o.granularity == lower::Granularity::PerRule ? "/rule" : "/condition"));
  auto strings = abi::stringLayout();
  field(fmt::format("{}/{}/{}/{}", abi::kValueSize, sizeof(abi::Ctx), sizeof(abi::Scalar),
                    strings ? fmt::format("{}+{}", strings->data, strings->size) : "helper"));
  field(std::to_string(c.sources.size()));
  for (FileId f = 0; f < c.sources.size(); ++f) {
    field(c.sources.file(f).path());
    field(c.sources.file(f).text());
  }
  return llvm::toHex(h.final<16>(), true);
}

// ---- the manifest: what a compiled rule set contains, embedded in its object code ----
//
//   trig-manifest 1
//   scratch N
//   E exprId kind typeKind elemKind rule event which name symbol
//   F exprId file begin end name<TAB>reason

std::string manifestSymbol(size_t chunk) {
  return "trig.manifest." + std::to_string(chunk);
}

std::string manifest(const lower::LoweredRuleSet& set) {
  std::string m = "trig-manifest 1\nscratch " + std::to_string(set.scratchSlots) + "\n";
  for (const auto& e : set.entries)
    m += fmt::format("E {} {} {} {} {} {} {} {} {}\n", e.exprId, static_cast<int>(e.kind),
                     static_cast<int>(e.type.kind), static_cast<int>(e.type.elem), e.rule, e.event,
                     e.which, e.name, e.symbol);
  for (const auto& f : set.fallbacks)
    m += fmt::format("F {} {} {} {} {}\t{}\n", f.exprId, f.loc.file, f.loc.begin, f.loc.end, f.name,
                     f.reason);
  return m;
}

void embedManifest(llvm::Module& m, const lower::LoweredRuleSet& set, size_t chunk) {
  auto* init = llvm::ConstantDataArray::getString(m.getContext(), manifest(set), true);
  auto* gv = new llvm::GlobalVariable(m, init->getType(), true, llvm::GlobalValue::ExternalLinkage,
                                      init, manifestSymbol(chunk));
  gv->setAlignment(llvm::Align(1));
}

// Reads a manifest back; false when it is not one this build wrote for `c`.
bool parseManifest(const char* text, const Compilation& c, lower::LoweredRuleSet& out) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != "trig-manifest 1") return false;
  if (!std::getline(in, line) || std::sscanf(line.c_str(), "scratch %u", &out.scratchSlots) != 1)
    return false;
  const size_t exprs = c.program.arena.exprCount();
  while (std::getline(in, line)) {
    if (line.size() < 2) return false;
    std::istringstream l(line.substr(2));
    if (line[0] == 'E') {
      lower::Entry e;
      int kind = 0, type = 0, elem = 0;
      if (!(l >> e.exprId >> kind >> type >> elem >> e.rule >> e.event >> e.which >> e.name >>
            e.symbol))
        return false;
      if (e.exprId >= exprs || kind < 0 || kind > 2 || type < 0 || type > 8 || elem < 0 || elem > 8)
        return false;
      e.kind = static_cast<lower::EntryKind>(kind);
      e.type = {static_cast<sema::TypeKind>(type), static_cast<sema::TypeKind>(elem)};
      out.entries.push_back(std::move(e));
    } else if (line[0] == 'F') {
      lower::Fallback f;
      std::string rest;
      if (!(l >> f.exprId >> f.loc.file >> f.loc.begin >> f.loc.end >> f.name)) return false;
      std::getline(l, rest);
      size_t tab = rest.find('\t');
      f.reason = tab == std::string::npos ? rest : rest.substr(tab + 1);
      if (f.exprId >= exprs) return false;
      out.fallbacks.push_back(std::move(f));
    } else {
      return false;
    }
  }
  return true;
}

struct Lowered {
  llvm::orc::ThreadSafeContext context{std::make_unique<llvm::LLVMContext>()};
  lower::LoweredRuleSet set;
};

// A fresh context per compile: rule sets share nothing and can be freed independently.
std::unique_ptr<Lowered> lowerForHost(const Compilation& c, const JitOptions& o, bool verifyIt,
                                      bool forPeople = false, uint32_t firstRule = 0,
                                      uint32_t endRule = UINT32_MAX) {
  auto l = std::make_unique<Lowered>();
  auto lock = l->context.getLock();
  lower::LowerOptions lo;
  lo.granularity = o.granularity;
  lo.firstRule = firstRule;
  lo.endRule = endRule;
  if (auto layout = abi::stringLayout()) {
    lo.inlineStrings = true;
    lo.stringDataOffset = layout->data;
    lo.stringSizeOffset = layout->size;
  }
  // Names only matter to people reading --emit output.
  if (!forPeople) l->context.getContext()->setDiscardValueNames(true);
  l->set = lower::lowerToLLVM(c.program, c.model, *l->context.getContext(), lo);
  llvm::orc::LLJIT& jit = ProcessJit::get().lljit();
  l->set.module->setTargetTriple(jit.getTargetTriple().str());
  l->set.module->setDataLayout(jit.getDataLayout());
  if (verifyIt) verify(*l->set.module);
  return l;
}

}  // namespace

struct RuleSetCode::Handle {
  llvm::orc::JITDylib* dylib = nullptr;
  llvm::orc::ResourceTrackerSP tracker;

  ~Handle() {
    if (dylib == nullptr) return;
    ProcessJit& pj = ProcessJit::get();
    std::lock_guard<std::mutex> lock(pj.mutex());
    // Errors while unloading cannot be acted on in a destructor; the code is unreachable either
    // way.
    if (tracker) llvm::consumeError(tracker->remove());
    llvm::consumeError(pj.lljit().getExecutionSession().removeJITDylib(*dylib));
  }
};

RuleSetCode::~RuleSetCode() = default;

const lower::Entry* RuleSetCode::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

void* RuleSetCode::address(const std::string& name) const {
  for (size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].name == name) return addresses_[i];
  return nullptr;
}

std::string hostTriple() {
  return ProcessJit::get().lljit().getTargetTriple().str();
}

// One chunk of a rule set: rules [first, end), its object code and, when it was compiled here
// rather than loaded, its lowering's entry list (else the object's manifest has it).
struct Chunk {
  uint32_t first = 0, end = 0;
  std::unique_ptr<llvm::MemoryBuffer> object;
  std::unique_ptr<Lowered> lowered;
  bool fromCache = false;
};

// Links the chunks' object code into a fresh JITDylib of the process JIT and resolves the
// entries. Returns null when a cached object does not fit this program (treated as a miss).
class RuleSetLoader {
 public:
  static std::unique_ptr<RuleSetCode> load(const Compilation& c, std::vector<Chunk>& chunks,
                                           CompileStats stats) {
    ProcessJit& pj = ProcessJit::get();
    std::unique_ptr<RuleSetCode> code(new RuleSetCode());
    std::unique_lock<std::mutex> lock(pj.mutex());
    llvm::orc::LLJIT& jit = pj.lljit();
    llvm::orc::ExecutionSession& es = jit.getExecutionSession();
    code->handle_ = std::make_unique<RuleSetCode::Handle>();
    llvm::orc::JITDylib& jd = es.createBareJITDylib("trig.ruleset." + std::to_string(pj.nextId()));
    code->handle_->dylib = &jd;
    jd.addToLinkOrder(pj.abiDylib());
    code->handle_->tracker = jd.createResourceTracker();
    auto miss = [&]() -> std::unique_ptr<RuleSetCode> {
      lock.unlock();  // the handle's destructor takes the JIT lock
      return nullptr;
    };
    for (Chunk& ch : chunks) {
      if (llvm::Error err = jit.addObjectFile(code->handle_->tracker, std::move(ch.object))) {
        if (ch.fromCache) {
          llvm::consumeError(std::move(err));
          return miss();
        }
        fail("cannot load the rule set's code", std::move(err));
      }
    }
    // The manifests of the cached chunks, in one lookup (each lookup is a round trip through
    // the session).
    std::vector<const char*> manifests(chunks.size(), nullptr);
    {
      llvm::orc::SymbolLookupSet names;
      for (size_t i = 0; i < chunks.size(); ++i)
        if (!chunks[i].lowered) names.add(jit.mangleAndIntern(manifestSymbol(i)));
      if (!names.empty()) {
        auto found = es.lookup(llvm::orc::makeJITDylibSearchOrder(&jd), std::move(names));
        if (!found) {
          llvm::consumeError(found.takeError());
          return miss();
        }
        for (size_t i = 0; i < chunks.size(); ++i) {
          if (chunks[i].lowered) continue;
          auto it = found->find(jit.mangleAndIntern(manifestSymbol(i)));
          if (it == found->end()) return miss();
          manifests[i] = it->second.getAddress().toPtr<const char*>();
        }
      }
    }
    uint32_t scratch = 0;
    for (size_t i = 0; i < chunks.size(); ++i) {
      Chunk& ch = chunks[i];
      lower::LoweredRuleSet fromManifest;
      const lower::LoweredRuleSet* set = ch.lowered ? &ch.lowered->set : nullptr;
      if (set == nullptr) {
        if (!parseManifest(manifests[i], c, fromManifest)) return miss();
        set = &fromManifest;
      }
      for (lower::Entry e : set->entries) {
        e.scratchBase = scratch;
        code->entries_.push_back(std::move(e));
      }
      for (const auto& f : set->fallbacks) code->fallbacks_.push_back(f);
      scratch += set->scratchSlots;
    }
    code->scratchSlots_ = scratch;
    stats.functions = 0;
    stats.entries = code->entries_.size();
    if (!code->entries_.empty()) {
      llvm::orc::SymbolLookupSet names;
      std::set<std::string> symbols;
      for (const lower::Entry& e : code->entries_)
        if (symbols.insert(e.symbol).second) names.add(jit.mangleAndIntern(e.symbol));
      stats.functions = symbols.size();
      auto found = es.lookup(llvm::orc::makeJITDylibSearchOrder(&jd), std::move(names));
      if (!found) {
        if (stats.cacheHit) {
          llvm::consumeError(found.takeError());
          return miss();
        }
        fail("cannot link the rule set", found.takeError());
      }
      for (const lower::Entry& e : code->entries_) {
        auto it = found->find(jit.mangleAndIntern(e.symbol));
        if (it == found->end())
          throw JitError("symbol " + e.symbol + " is missing from the compiled rule set");
        code->addresses_.push_back(it->second.getAddress().toPtr<void*>());
      }
    }
    code->stats_ = std::move(stats);
    lock.unlock();
    return code;
  }
};

uint32_t codeSize(const Compilation& c) {
  return static_cast<uint32_t>(c.program.arena.exprCount());
}

std::unique_ptr<RuleSetCode> compileRuleSet(const Compilation& c, const JitOptions& options,
                                            const std::atomic<bool>* cancel) {
  ProcessJit::get();  // the target is initialised before anything asks about it
  auto wall0 = Clock::now();
  auto cancelled = [&] { return cancel != nullptr && cancel->load(std::memory_order_relaxed); };
  CompileStats stats;
  std::unique_ptr<llvm::TargetMachine> tm = targetMachine(options.optLevel);

  // Chunks of rules, compiled (and cached) one at a time: a cancelled compile stops between
  // chunks and keeps the ones it finished.
  const auto ruleCount = static_cast<uint32_t>(c.model.rules.size());
  const uint32_t per =
      options.chunkRules == 0 ? std::max<uint32_t>(ruleCount, 1) : options.chunkRules;
  std::vector<Chunk> chunks;
  for (uint32_t first = 0; first < ruleCount || chunks.empty(); first += per)
    chunks.push_back({first, std::min(ruleCount, first + per), nullptr, nullptr, false});
  stats.chunks = chunks.size();

  std::unique_ptr<DiskObjectCache> cache;
  if (options.useCache)
    if (auto dir = DiskObjectCache::defaultDirectory(options.cacheDir))
      cache = std::make_unique<DiskObjectCache>(*dir);
  auto chunkKey = [&](size_t i) {
    return chunks.size() == 1 ? stats.cacheKey : stats.cacheKey + "-" + std::to_string(i);
  };
  bool allCached = false;
  if (cache) {
    double t = threadCpuMs();
    stats.cacheKey = cacheKey(c, *tm, options);
    stats.cachePath = cache->pathFor(chunkKey(0));
    allCached = true;
    for (size_t i = 0; i < chunks.size(); ++i) {
      chunks[i].object = cache->lookup(chunkKey(i));
      chunks[i].fromCache = chunks[i].object != nullptr;
      allCached = allCached && chunks[i].fromCache;
    }
    stats.lowerMs = threadCpuMs() - t;
  }
  if (options.cachedOnly && !allCached) return nullptr;

  for (size_t i = 0; i < chunks.size(); ++i) {
    Chunk& ch = chunks[i];
    if (ch.object) continue;
    if (cancelled()) return nullptr;
    double t0 = threadCpuMs();
    ch.lowered = lowerForHost(c, options, options.verify, false, ch.first, ch.end);
    llvm::Module& m = *ch.lowered->set.module;
    embedManifest(m, ch.lowered->set, i);
    m.setModuleIdentifier(stats.cacheKey.empty() ? "trig.rules" : chunkKey(i));
    stats.lowerMs += threadCpuMs() - t0;
    double t1 = threadCpuMs();
    optimize(m, *tm, options.optLevel, cancel);
    if (cancelled()) return nullptr;
    if (options.verify) verify(m);
    stats.optimizeMs += threadCpuMs() - t1;
    double t2 = threadCpuMs();
    llvm::orc::SimpleCompiler compiler(*tm);
    ch.object = check(compiler(m), "cannot compile the rule set");
    stats.codegenMs += threadCpuMs() - t2;
    if (cache) {
      cache->notifyObjectCompiled(&m, ch.object->getMemBufferRef());
      if (!cache->lastError.empty()) stats.cacheError = cache->lastError;
    }
  }
  stats.cacheHit = allCached;

  double t3 = threadCpuMs();
  auto code = RuleSetLoader::load(c, chunks, stats);
  if (!code) {
    // A cached object that does not fit (another program hashing alike is practically
    // impossible; a damaged file is not): compile everything afresh, without the cache.
    JitOptions fresh = options;
    fresh.useCache = false;
    auto again = compileRuleSet(c, fresh, cancel);
    if (again)
      again->stats_.cacheError =
          "ignored a cache entry that does not fit this program: " + stats.cachePath;
    return again;
  }
  code->stats_.linkMs = threadCpuMs() - t3;
  code->stats_.wallMs = msSince(wall0);
  return code;
}

std::string emitLLVM(const Compilation& c, const JitOptions& options) {
  std::unique_ptr<Lowered> l = lowerForHost(c, options, true, true);
  std::unique_ptr<llvm::TargetMachine> tm = targetMachine(options.optLevel);
  optimize(*l->set.module, *tm, options.optLevel);
  verify(*l->set.module);
  std::string out;
  llvm::raw_string_ostream os(out);
  l->set.module->print(os, nullptr);
  return out;
}

std::string emitAssembly(const Compilation& c, const JitOptions& options) {
  std::unique_ptr<Lowered> l = lowerForHost(c, options, true, true);
  std::unique_ptr<llvm::TargetMachine> tm = targetMachine(options.optLevel);
  optimize(*l->set.module, *tm, options.optLevel);
  llvm::SmallString<0> out;
  llvm::raw_svector_ostream os(out);
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::AssemblyFile))
    throw JitError("the target cannot emit assembly");
  pm.run(*l->set.module);
  return std::string(out.str());
}

}  // namespace trig::jit
