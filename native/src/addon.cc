// oneDNN (2.x) kernels for ssl-budget-bench: convolution forward / backward-data / backward-weights,
// batched matmul and training-mode batch norm forward / backward, on caller-owned float32 buffers (zero copy: tfjs wasm heap views are passed in).
//
// Layouts: activations NHWC, filters HWIO (as tfjs stores them), matmul operands row-major with
// optional transposes. oneDNN prefers blocked filter layouts; filters are reordered into (and filter
// gradients out of) the layout the chosen implementation asks for, which is cheap next to the
// convolution and faster than forcing plain HWIO on it. Primitives are cached per shape.
#include <node_api.h>
#include <omp.h>

#include <dnnl.hpp>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& cpu() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& cpuStream() {
  static dnnl::stream s(cpu());
  return s;
}

struct JsError {
  std::string message;
};

// ---- N-API argument helpers -------------------------------------------------------------------------

float* floatArray(napi_env env, napi_value v, size_t minLength, const char* what) {
  bool isTyped = false;
  napi_is_typedarray(env, v, &isTyped);
  if (!isTyped) throw JsError{std::string(what) + " must be a Float32Array"};
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value buffer;
  size_t offset;
  napi_get_typedarray_info(env, v, &type, &length, &data, &buffer, &offset);
  if (type != napi_float32_array) throw JsError{std::string(what) + " must be a Float32Array"};
  if (length < minLength) {
    std::ostringstream m;
    m << what << " has " << length << " elements, needs " << minLength;
    throw JsError{m.str()};
  }
  return static_cast<float*>(data);
}

std::vector<int64_t> intArray(napi_env env, napi_value v, size_t count, const char* what) {
  bool isTyped = false;
  napi_is_typedarray(env, v, &isTyped);
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (isTyped) napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr);
  if (!isTyped || type != napi_int32_array || length != count) {
    std::ostringstream m;
    m << what << " must be an Int32Array of length " << count;
    throw JsError{m.str()};
  }
  const int32_t* p = static_cast<const int32_t*>(data);
  return std::vector<int64_t>(p, p + count);
}

std::vector<napi_value> args(napi_env env, napi_callback_info info, size_t expected) {
  size_t argc = expected;
  std::vector<napi_value> argv(expected);
  napi_get_cb_info(env, info, &argc, argv.data(), nullptr, nullptr);
  if (argc != expected) throw JsError{"wrong number of arguments"};
  return argv;
}

bool isNullish(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_null || t == napi_undefined;
}

template <typename F>
napi_value guarded(napi_env env, F&& f) {
  try {
    f();
  } catch (const JsError& e) {
    napi_throw_error(env, "ERR_ONEDNN_ARGS", e.message.c_str());
  } catch (const dnnl::error& e) {
    std::string m = std::string("oneDNN: ") + e.what();
    napi_throw_error(env, "ERR_ONEDNN", m.c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, "ERR_ONEDNN", e.what());
  }
  return nullptr;
}

// ---- convolution -----------------------------------------------------------------------------------

// params: n, h, w, ci, kh, kw, co, oh, ow, strideH, strideW, padTop, padBottom, padLeft, padRight
constexpr size_t kConvParams = 15;

struct ConvPlan {
  memory::desc src, dst, userWeights;
  dnnl::convolution_forward::primitive_desc fwd;
  dnnl::convolution_forward fwdPrim;
  memory fwdWeights;  // filter in the forward implementation's layout (when it differs from HWIO)
  bool bwdDataReady = false;
  dnnl::convolution_backward_data::primitive_desc bwdData;
  dnnl::convolution_backward_data bwdDataPrim;
  memory bwdDataWeights;
  bool bwdWeightsReady = false;
  dnnl::convolution_backward_weights::primitive_desc bwdWeights;
  dnnl::convolution_backward_weights bwdWeightsPrim;
  memory bwdWeightsOut;
  memory::dims strides, padL, padR;
};

std::string keyOf(const std::vector<int64_t>& p) {
  std::string k;
  for (auto v : p) k += std::to_string(v) + ",";
  return k;
}

ConvPlan& convPlan(const std::vector<int64_t>& p) {
  static std::unordered_map<std::string, std::unique_ptr<ConvPlan>> plans;
  const std::string key = keyOf(p);
  auto it = plans.find(key);
  if (it != plans.end()) return *it->second;
  const int64_t n = p[0], h = p[1], w = p[2], ci = p[3], kh = p[4], kw = p[5], co = p[6], oh = p[7], ow = p[8];
  auto plan = std::make_unique<ConvPlan>();
  plan->strides = {p[9], p[10]};
  plan->padL = {p[11], p[13]};
  plan->padR = {p[12], p[14]};
  plan->src = memory::desc({n, ci, h, w}, dt::f32, tag::nhwc);
  plan->dst = memory::desc({n, co, oh, ow}, dt::f32, tag::nhwc);
  plan->userWeights = memory::desc({co, ci, kh, kw}, dt::f32, tag::hwio);
  memory::desc anyWeights({co, ci, kh, kw}, dt::f32, tag::any);
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, plan->src,
                                    anyWeights, plan->dst, plan->strides, plan->padL, plan->padR);
  plan->fwd = dnnl::convolution_forward::primitive_desc(d, cpu());
  plan->fwdPrim = dnnl::convolution_forward(plan->fwd);
  if (plan->fwd.weights_desc() != plan->userWeights) plan->fwdWeights = memory(plan->fwd.weights_desc(), cpu());
  ConvPlan& ref = *plan;
  plans.emplace(key, std::move(plan));
  return ref;
}

// Returns a memory holding `filter` in `wanted` layout: the user buffer itself, or `scratch` after a reorder.
memory filterIn(const memory::desc& wanted, const ConvPlan& plan, float* filter, memory& scratch) {
  memory user(plan.userWeights, cpu(), filter);
  if (wanted == plan.userWeights) return user;
  dnnl::reorder(user, scratch).execute(cpuStream(), user, scratch);
  return scratch;
}

napi_value Conv2d(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto a = args(env, info, 4);
    auto p = intArray(env, a[3], kConvParams, "params");
    ConvPlan& plan = convPlan(p);
    float* x = floatArray(env, a[0], plan.src.get_size() / 4, "x");
    float* f = floatArray(env, a[1], plan.userWeights.get_size() / 4, "filter");
    float* y = floatArray(env, a[2], plan.dst.get_size() / 4, "y");
    memory weights = filterIn(plan.fwd.weights_desc(), plan, f, plan.fwdWeights);
    memory src(plan.src, cpu(), x), dst(plan.dst, cpu(), y);
    plan.fwdPrim.execute(cpuStream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}});
    cpuStream().wait();
  });
}

napi_value Conv2dBackpropInput(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto a = args(env, info, 4);
    auto p = intArray(env, a[3], kConvParams, "params");
    ConvPlan& plan = convPlan(p);
    if (!plan.bwdDataReady) {
      memory::desc anyWeights(plan.userWeights.dims(), dt::f32, tag::any);
      dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, plan.src, anyWeights, plan.dst,
                                              plan.strides, plan.padL, plan.padR);
      plan.bwdData = dnnl::convolution_backward_data::primitive_desc(d, cpu(), plan.fwd);
      plan.bwdDataPrim = dnnl::convolution_backward_data(plan.bwdData);
      if (plan.bwdData.weights_desc() != plan.userWeights) plan.bwdDataWeights = memory(plan.bwdData.weights_desc(), cpu());
      plan.bwdDataReady = true;
    }
    float* dy = floatArray(env, a[0], plan.dst.get_size() / 4, "dy");
    float* f = floatArray(env, a[1], plan.userWeights.get_size() / 4, "filter");
    float* dx = floatArray(env, a[2], plan.src.get_size() / 4, "dx");
    memory weights = filterIn(plan.bwdData.weights_desc(), plan, f, plan.bwdDataWeights);
    memory diffDst(plan.dst, cpu(), dy), diffSrc(plan.src, cpu(), dx);
    plan.bwdDataPrim.execute(cpuStream(), {{DNNL_ARG_DIFF_DST, diffDst}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DIFF_SRC, diffSrc}});
    cpuStream().wait();
  });
}

napi_value Conv2dBackpropFilter(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto a = args(env, info, 4);
    auto p = intArray(env, a[3], kConvParams, "params");
    ConvPlan& plan = convPlan(p);
    if (!plan.bwdWeightsReady) {
      memory::desc anyWeights(plan.userWeights.dims(), dt::f32, tag::any);
      dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, plan.src, anyWeights, plan.dst,
                                                 plan.strides, plan.padL, plan.padR);
      plan.bwdWeights = dnnl::convolution_backward_weights::primitive_desc(d, cpu(), plan.fwd);
      plan.bwdWeightsPrim = dnnl::convolution_backward_weights(plan.bwdWeights);
      if (plan.bwdWeights.diff_weights_desc() != plan.userWeights) plan.bwdWeightsOut = memory(plan.bwdWeights.diff_weights_desc(), cpu());
      plan.bwdWeightsReady = true;
    }
    float* x = floatArray(env, a[0], plan.src.get_size() / 4, "x");
    float* dy = floatArray(env, a[1], plan.dst.get_size() / 4, "dy");
    float* dw = floatArray(env, a[2], plan.userWeights.get_size() / 4, "dw");
    memory src(plan.src, cpu(), x), diffDst(plan.dst, cpu(), dy), user(plan.userWeights, cpu(), dw);
    const bool direct = plan.bwdWeights.diff_weights_desc() == plan.userWeights;
    memory out = direct ? user : plan.bwdWeightsOut;
    plan.bwdWeightsPrim.execute(cpuStream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diffDst}, {DNNL_ARG_DIFF_WEIGHTS, out}});
    if (!direct) dnnl::reorder(out, user).execute(cpuStream(), out, user);
    cpuStream().wait();
  });
}

// ---- matmul ----------------------------------------------------------------------------------------

// params: batchA, batchB, m, k, n, transposeA, transposeB, hasBias
constexpr size_t kMatMulParams = 8;

struct MatMulPlan {
  memory::desc a, b, c, bias;
  dnnl::matmul prim;
};

napi_value MatMul(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    static std::unordered_map<std::string, std::unique_ptr<MatMulPlan>> plans;
    auto a = args(env, info, 5);
    auto p = intArray(env, a[4], kMatMulParams, "params");
    const int64_t batchA = p[0], batchB = p[1], m = p[2], k = p[3], n = p[4];
    const bool transA = p[5] != 0, transB = p[6] != 0, hasBias = p[7] != 0;
    const std::string key = keyOf(p);
    auto it = plans.find(key);
    if (it == plans.end()) {
      auto plan = std::make_unique<MatMulPlan>();
      // A transposed operand is stored [batch, cols, rows]: the same logical dims with swapped strides (acb).
      plan->a = memory::desc({batchA, m, k}, dt::f32, transA ? tag::acb : tag::abc);
      plan->b = memory::desc({batchB, k, n}, dt::f32, transB ? tag::acb : tag::abc);
      plan->c = memory::desc({std::max(batchA, batchB), m, n}, dt::f32, tag::abc);
      if (hasBias) plan->bias = memory::desc({1, 1, n}, dt::f32, tag::abc);
      auto d = hasBias ? dnnl::matmul::desc(plan->a, plan->b, plan->bias, plan->c) : dnnl::matmul::desc(plan->a, plan->b, plan->c);
      plan->prim = dnnl::matmul(dnnl::matmul::primitive_desc(d, cpu()));
      it = plans.emplace(key, std::move(plan)).first;
    }
    MatMulPlan& plan = *it->second;
    memory ma(plan.a, cpu(), floatArray(env, a[0], plan.a.get_size() / 4, "a"));
    memory mb(plan.b, cpu(), floatArray(env, a[1], plan.b.get_size() / 4, "b"));
    memory mc(plan.c, cpu(), floatArray(env, a[2], plan.c.get_size() / 4, "c"));
    std::unordered_map<int, memory> argsMap{{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
    if (hasBias) {
      if (isNullish(env, a[3])) throw JsError{"bias expected"};
      argsMap.emplace(DNNL_ARG_BIAS, memory(plan.bias, cpu(), floatArray(env, a[3], n, "bias")));
    }
    plan.prim.execute(cpuStream(), argsMap);
    cpuStream().wait();
  });
}

// ---- batch normalization (training) --------------------------------------------------------------

// Batch norm over the rows of a [rows, channels] matrix (NHWC maps and [N, D] features alike), with
// separate scale (gamma) and shift (beta). Statistics are the batch mean and biased variance.
// params: rows, channels; eps passed as a number.
struct BatchNormPlan {
  memory::desc data, stat;
  dnnl::batch_normalization_forward::primitive_desc fwd;
  dnnl::batch_normalization_forward fwdPrim;
  dnnl::batch_normalization_backward bwdPrim;
  // Inference with given (running) statistics, on the same descriptions.
  dnnl::batch_normalization_forward inferPrim;
};

BatchNormPlan& batchNormPlan(int64_t rows, int64_t channels, float eps) {
  static std::unordered_map<std::string, std::unique_ptr<BatchNormPlan>> plans;
  const std::string key = std::to_string(rows) + "," + std::to_string(channels) + "," + std::to_string(eps);
  auto it = plans.find(key);
  if (it != plans.end()) return *it->second;
  auto plan = std::make_unique<BatchNormPlan>();
  // Described as NHWC with H = W = 1 (the same bytes as [rows, C]): oneDNN's fast channels-last
  // implementation takes it, where a plain 2-D layout gets a slow generic one.
  plan->data = memory::desc({rows, channels, 1, 1}, dt::f32, tag::nhwc);
  plan->stat = memory::desc({channels}, dt::f32, tag::a);
  const auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  dnnl::batch_normalization_forward::desc fd(dnnl::prop_kind::forward_training, plan->data, eps, flags);
  plan->fwd = dnnl::batch_normalization_forward::primitive_desc(fd, cpu());
  plan->fwdPrim = dnnl::batch_normalization_forward(plan->fwd);
  dnnl::batch_normalization_backward::desc bd(dnnl::prop_kind::backward, plan->data, plan->data, eps, flags);
  plan->bwdPrim = dnnl::batch_normalization_backward(dnnl::batch_normalization_backward::primitive_desc(bd, cpu(), plan->fwd));
  dnnl::batch_normalization_forward::desc id(dnnl::prop_kind::forward_inference, plan->data, eps,
                                             flags | dnnl::normalization_flags::use_global_stats);
  plan->inferPrim = dnnl::batch_normalization_forward(dnnl::batch_normalization_forward::primitive_desc(id, cpu()));
  BatchNormPlan& ref = *plan;
  plans.emplace(key, std::move(plan));
  return ref;
}

float numberArg(napi_env env, napi_value v, const char* what) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) throw JsError{std::string(what) + " must be a number"};
  return static_cast<float>(d);
}

// (x, scale, shift, y, mean, variance, params[rows, channels], eps)
napi_value BatchNormForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto a = args(env, info, 8);
    auto p = intArray(env, a[6], 2, "params");
    const size_t rows = p[0], channels = p[1];
    BatchNormPlan& plan = batchNormPlan(p[0], p[1], numberArg(env, a[7], "eps"));
    memory x(plan.data, cpu(), floatArray(env, a[0], rows * channels, "x"));
    memory scale(plan.stat, cpu(), floatArray(env, a[1], channels, "scale"));
    memory shift(plan.stat, cpu(), floatArray(env, a[2], channels, "shift"));
    memory y(plan.data, cpu(), floatArray(env, a[3], rows * channels, "y"));
    memory mean(plan.stat, cpu(), floatArray(env, a[4], channels, "mean"));
    memory variance(plan.stat, cpu(), floatArray(env, a[5], channels, "variance"));
    plan.fwdPrim.execute(cpuStream(), {{DNNL_ARG_SRC, x}, {DNNL_ARG_SCALE, scale}, {DNNL_ARG_SHIFT, shift}, {DNNL_ARG_DST, y},
                                       {DNNL_ARG_MEAN, mean}, {DNNL_ARG_VARIANCE, variance}});
    cpuStream().wait();
  });
}

// ---- batch normalization (inference: running statistics) ---------------------------------------------

// Eval-mode batch norm, y = (x - mean) / sqrt(variance + eps) * scale + shift with given statistics, from the
// same plan as training (its inferPrim). tfjs-wasm's own FusedBatchNorm runs single-threaded and was two
// thirds of an evaluation forward pass of resnet-small.
// (x, scale, shift, mean, variance, y, params[rows, channels], eps)
napi_value BatchNormInference(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto a = args(env, info, 8);
    auto p = intArray(env, a[6], 2, "params");
    const size_t rows = p[0], channels = p[1];
    BatchNormPlan& plan = batchNormPlan(p[0], p[1], numberArg(env, a[7], "eps"));
    memory x(plan.data, cpu(), floatArray(env, a[0], rows * channels, "x"));
    memory scale(plan.stat, cpu(), floatArray(env, a[1], channels, "scale"));
    memory shift(plan.stat, cpu(), floatArray(env, a[2], channels, "shift"));
    memory mean(plan.stat, cpu(), floatArray(env, a[3], channels, "mean"));
    memory variance(plan.stat, cpu(), floatArray(env, a[4], channels, "variance"));
    memory y(plan.data, cpu(), floatArray(env, a[5], rows * channels, "y"));
    plan.inferPrim.execute(cpuStream(), {{DNNL_ARG_SRC, x}, {DNNL_ARG_SCALE, scale}, {DNNL_ARG_SHIFT, shift}, {DNNL_ARG_MEAN, mean},
                                    {DNNL_ARG_VARIANCE, variance}, {DNNL_ARG_DST, y}});
    cpuStream().wait();
  });
}

// (dy, x, mean, variance, scale, dx, dscale, dshift, params[rows, channels], eps)
napi_value BatchNormBackward(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto a = args(env, info, 10);
    auto p = intArray(env, a[8], 2, "params");
    const size_t rows = p[0], channels = p[1];
    BatchNormPlan& plan = batchNormPlan(p[0], p[1], numberArg(env, a[9], "eps"));
    memory dy(plan.data, cpu(), floatArray(env, a[0], rows * channels, "dy"));
    memory x(plan.data, cpu(), floatArray(env, a[1], rows * channels, "x"));
    memory mean(plan.stat, cpu(), floatArray(env, a[2], channels, "mean"));
    memory variance(plan.stat, cpu(), floatArray(env, a[3], channels, "variance"));
    memory scale(plan.stat, cpu(), floatArray(env, a[4], channels, "scale"));
    memory dx(plan.data, cpu(), floatArray(env, a[5], rows * channels, "dx"));
    memory dscale(plan.stat, cpu(), floatArray(env, a[6], channels, "dscale"));
    memory dshift(plan.stat, cpu(), floatArray(env, a[7], channels, "dshift"));
    // oneDNN 2.6 checks that a shift is given whenever use_shift is set, though backward never reads it.
    memory unusedShift(plan.stat, cpu());
    plan.bwdPrim.execute(cpuStream(), {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_SRC, x}, {DNNL_ARG_MEAN, mean}, {DNNL_ARG_VARIANCE, variance},
                                       {DNNL_ARG_SCALE, scale}, {DNNL_ARG_SHIFT, unusedShift}, {DNNL_ARG_DIFF_SRC, dx},
                                       {DNNL_ARG_DIFF_SCALE, dscale}, {DNNL_ARG_DIFF_SHIFT, dshift}});
    cpuStream().wait();
  });
}

// ---- threads ---------------------------------------------------------------------------------------

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto a = args(env, info, 1);
    int32_t n = 0;
    napi_get_value_int32(env, a[0], &n);
    if (n < 1) throw JsError{"threads must be >= 1"};
    omp_set_num_threads(n);
  });
}

napi_value Threads(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_int32(env, omp_get_max_threads(), &out);
  return out;
}

napi_value Version(napi_env env, napi_callback_info) {
  const dnnl_version_t* v = dnnl_version();
  std::ostringstream s;
  s << v->major << "." << v->minor << "." << v->patch;
  napi_value out;
  napi_create_string_utf8(env, s.str().c_str(), NAPI_AUTO_LENGTH, &out);
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"conv2d", nullptr, Conv2d, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropInput", nullptr, Conv2dBackpropInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropFilter", nullptr, Conv2dBackpropFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matMul", nullptr, MatMul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormForward", nullptr, BatchNormForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormBackward", nullptr, BatchNormBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormInference", nullptr, BatchNormInference, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"threads", nullptr, Threads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"version", nullptr, Version, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
