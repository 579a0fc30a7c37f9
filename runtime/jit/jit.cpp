// The process JIT (see jit.h). Compiling a rule set:
//   lower (fresh ThreadSafeContext) -> verify -> cache key -> [cache hit: object from disk]
//   -> otherwise IR pipeline -> object code -> store in the cache
//   -> link into a new JITDylib through a ResourceTracker -> look every entry symbol up at once.
#include "runtime/jit/jit.h"

#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/CompileUtils.h>
#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/BLAKE3.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <chrono>
#include <cstring>
#include <mutex>

#include "runtime/abi/abi.h"
#include "runtime/jit/object_cache.h"

namespace trig::jit {
namespace {

// Bump when the ABI or the helpers change meaning: cached objects of older versions then miss.
constexpr const char* kJitVersion = "trig-jit-1";

using Clock = std::chrono::steady_clock;
double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
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
    jit_ = check(llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(jtmb_).create(), "cannot create the JIT");
    // Bare libraries, outside LLJIT's default link order: compiled rules may call the helpers
    // registered here and nothing else of the process.
    abi_ = &jit_->getExecutionSession().createBareJITDylib("trig.abi");
    llvm::orc::SymbolMap symbols;
    size_t n = 0;
    const abi::HelperSymbol* helpers = abi::helperSymbols(&n);
    auto define = [&](const char* name, void* addr) {
      symbols[jit_->mangleAndIntern(name)] = {llvm::orc::ExecutorAddr::fromPtr(addr),
                                              llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable};
    };
    for (size_t i = 0; i < n; ++i) define(helpers[i].name, helpers[i].address);
    // The code generator may turn copies and compares into libc calls.
    define("memcpy", reinterpret_cast<void*>(&std::memcpy));
    define("memmove", reinterpret_cast<void*>(&std::memmove));
    define("memset", reinterpret_cast<void*>(&std::memset));
    define("memcmp", reinterpret_cast<void*>(&std::memcmp));
    if (llvm::Error err = abi_->define(llvm::orc::absoluteSymbols(std::move(symbols))))
      fail("cannot register the runtime helpers", std::move(err));
  }

  static llvm::orc::JITTargetMachineBuilder init() {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    return check(llvm::orc::JITTargetMachineBuilder::detectHost(), "cannot detect the host target");
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

void optimize(llvm::Module& m, llvm::TargetMachine& tm, unsigned optLevel) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
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

// A raw_ostream that feeds what is printed to a hash instead of storing it.
class HashStream : public llvm::raw_ostream {
 public:
  explicit HashStream(llvm::BLAKE3& h) : h_(h) { SetUnbuffered(); }

 private:
  void write_impl(const char* p, size_t n) override {
    h_.update(llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t*>(p), n));
    pos_ += n;
  }
  uint64_t current_pos() const override { return pos_; }
  llvm::BLAKE3& h_;
  uint64_t pos_ = 0;
};

// The cache key: everything the object code depends on.
std::string cacheKey(const llvm::Module& m, const llvm::TargetMachine& tm, const JitOptions& o) {
  llvm::BLAKE3 h;
  auto field = [&](llvm::StringRef s) {
    h.update(s);
    h.update(llvm::StringRef("\0", 1));
  };
  field(kJitVersion);
  field(LLVM_VERSION_STRING);
  field(tm.getTargetTriple().str());
  field(tm.getTargetCPU());
  field(tm.getTargetFeatureString());
  field("O" + std::to_string(o.optLevel));
  field(std::to_string(abi::kValueSize) + "/" + std::to_string(sizeof(abi::Ctx)) + "/" +
        std::to_string(sizeof(abi::Scalar)));
  {
    HashStream hs(h);
    m.print(hs, nullptr);
  }
  auto digest = h.final<16>();
  static const char* hex = "0123456789abcdef";
  std::string key;
  for (uint8_t byte : digest) {
    key += hex[byte >> 4];
    key += hex[byte & 15];
  }
  return key;
}

struct Lowered {
  llvm::orc::ThreadSafeContext context{std::make_unique<llvm::LLVMContext>()};
  lower::LoweredRuleSet set;
};

// A fresh context per compile: rule sets share nothing and can be freed independently.
std::unique_ptr<Lowered> lowerForHost(const ast::Program& program, const sema::Model& model) {
  auto l = std::make_unique<Lowered>();
  auto lock = l->context.getLock();
  l->set = lower::lowerToLLVM(program, model, *l->context.getContext());
  llvm::orc::LLJIT& jit = ProcessJit::get().lljit();
  l->set.module->setTargetTriple(jit.getTargetTriple().str());
  l->set.module->setDataLayout(jit.getDataLayout());
  verify(*l->set.module);
  return l;
}

}  // namespace

struct RuleSetCode::Handle {
  llvm::orc::JITDylib* dylib = nullptr;
  llvm::orc::ResourceTrackerSP tracker;
};

RuleSetCode::~RuleSetCode() {
  if (!handle_ || handle_->dylib == nullptr) return;
  ProcessJit& pj = ProcessJit::get();
  std::lock_guard<std::mutex> lock(pj.mutex());
  // Errors while unloading cannot be acted on in a destructor; the code is unreachable either way.
  if (handle_->tracker) llvm::consumeError(handle_->tracker->remove());
  llvm::consumeError(pj.lljit().getExecutionSession().removeJITDylib(*handle_->dylib));
}

void* RuleSetCode::address(const std::string& symbol) const {
  auto it = addresses_.find(symbol);
  return it == addresses_.end() ? nullptr : it->second;
}

std::string hostTriple() { return ProcessJit::get().lljit().getTargetTriple().str(); }

std::unique_ptr<RuleSetCode> compileRuleSet(const ast::Program& program, const sema::Model& model,
                                            const JitOptions& options) {
  ProcessJit& pj = ProcessJit::get();
  std::unique_ptr<RuleSetCode> code(new RuleSetCode());
  CompileStats& stats = code->stats_;

  auto t0 = Clock::now();
  std::unique_ptr<Lowered> l = lowerForHost(program, model);
  llvm::Module& m = *l->set.module;
  std::unique_ptr<llvm::TargetMachine> tm = targetMachine(options.optLevel);
  stats.cacheKey = cacheKey(m, *tm, options);
  m.setModuleIdentifier(stats.cacheKey);
  code->entries_ = l->set.entries;
  code->fallbacks_ = l->set.fallbacks;
  code->scratchSlots_ = l->set.scratchSlots;
  stats.functions = l->set.entries.size();
  stats.lowerMs = msSince(t0);

  std::unique_ptr<DiskObjectCache> cache;
  if (options.useCache)
    if (auto dir = DiskObjectCache::defaultDirectory(options.cacheDir)) cache = std::make_unique<DiskObjectCache>(*dir);

  std::unique_ptr<llvm::MemoryBuffer> object;
  if (cache) {
    stats.cachePath = cache->pathFor(stats.cacheKey);
    object = cache->getObject(&m);
    stats.cacheHit = object != nullptr;
  }
  if (!object) {
    auto t1 = Clock::now();
    optimize(m, *tm, options.optLevel);
    stats.optimizeMs = msSince(t1);
    auto t2 = Clock::now();
    llvm::orc::SimpleCompiler compiler(*tm);
    object = check(compiler(m), "cannot compile the rule set");
    stats.codegenMs = msSince(t2);
    if (cache) cache->notifyObjectCompiled(&m, object->getMemBufferRef());
  }
  if (cache) stats.cacheError = cache->lastError;

  auto t3 = Clock::now();
  std::lock_guard<std::mutex> lock(pj.mutex());
  llvm::orc::LLJIT& jit = pj.lljit();
  code->handle_ = std::make_unique<RuleSetCode::Handle>();
  llvm::orc::JITDylib& jd = jit.getExecutionSession().createBareJITDylib("trig.ruleset." + std::to_string(pj.nextId()));
  code->handle_->dylib = &jd;
  jd.addToLinkOrder(pj.abiDylib());
  code->handle_->tracker = jd.createResourceTracker();
  if (llvm::Error err = jit.addObjectFile(code->handle_->tracker, std::move(object)))
    fail("cannot load the rule set's code", std::move(err));
  if (!code->entries_.empty()) {
    llvm::orc::SymbolLookupSet names;
    for (const lower::Entry& e : code->entries_) names.add(jit.mangleAndIntern(e.symbol));
    llvm::orc::SymbolMap found =
        check(jit.getExecutionSession().lookup(llvm::orc::makeJITDylibSearchOrder(&jd), std::move(names)),
              "cannot link the rule set");
    for (const lower::Entry& e : code->entries_) {
      auto it = found.find(jit.mangleAndIntern(e.symbol));
      if (it == found.end()) throw JitError("symbol " + e.symbol + " is missing from the compiled rule set");
      code->addresses_[e.symbol] = it->second.getAddress().toPtr<void*>();
    }
  }
  stats.linkMs = msSince(t3);
  return code;
}

std::string emitLLVM(const ast::Program& program, const sema::Model& model, const JitOptions& options) {
  std::unique_ptr<Lowered> l = lowerForHost(program, model);
  std::unique_ptr<llvm::TargetMachine> tm = targetMachine(options.optLevel);
  optimize(*l->set.module, *tm, options.optLevel);
  verify(*l->set.module);
  std::string out;
  llvm::raw_string_ostream os(out);
  l->set.module->print(os, nullptr);
  return out;
}

std::string emitAssembly(const ast::Program& program, const sema::Model& model, const JitOptions& options) {
  std::unique_ptr<Lowered> l = lowerForHost(program, model);
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
