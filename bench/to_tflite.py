#!/usr/bin/env python3
"""Writes the benchmark models, as PyTorch exported them to ONNX (bench/export_models.py), as
.tflite files with the very same weights, so LiteRT runs what ONNX Runtime and preflight run.

Only what the three benchmark models use: Conv (plain and depthwise) with a following Relu or
Clip(0, 6) fused as TFLite does, MaxPool, GlobalAveragePool (MEAN over H and W), Flatten
(RESHAPE), Gemm (FULLY_CONNECTED, with a following Relu fused), Add. Activations are NHWC, as
LiteRT wants; the input is [1, H, W, C] (preflight's bench converts with the edge transpose, so
LiteRT is spared one). TFLite pads only SAME or VALID: a stride-2 3x3 convolution on an even
size pads (0, 1) there and (1, 1) in PyTorch, the same work with other border values, so
LiteRT's outputs are compared only for the stride-1 models. Also writes NAME.identity.tflite
(one RESHAPE to the same shape): what a call from Python costs with no work in it.

usage: python3 bench/to_tflite.py DIR        (pip's onnx, flatbuffers and tflite; reads DIR/*.onnx)
"""
import glob
import importlib
import os
import sys

import flatbuffers
import numpy as np
import onnx
from onnx import numpy_helper

# The generated modules (the package also exports classes of the same names, hence importlib).
AddOptions = importlib.import_module("tflite.AddOptions")
Buffer = importlib.import_module("tflite.Buffer")
Conv2DOptions = importlib.import_module("tflite.Conv2DOptions")
DepthwiseConv2DOptions = importlib.import_module("tflite.DepthwiseConv2DOptions")
FullyConnectedOptions = importlib.import_module("tflite.FullyConnectedOptions")
Model = importlib.import_module("tflite.Model")
Operator = importlib.import_module("tflite.Operator")
OperatorCode = importlib.import_module("tflite.OperatorCode")
Pool2DOptions = importlib.import_module("tflite.Pool2DOptions")
ReducerOptions = importlib.import_module("tflite.ReducerOptions")
ReshapeOptions = importlib.import_module("tflite.ReshapeOptions")
SubGraph = importlib.import_module("tflite.SubGraph")
Tensor = importlib.import_module("tflite.Tensor")

# Enum values of the TFLite schema (tflite/BuiltinOperator.py, BuiltinOptions.py, ...).
ADD, CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, MAX_POOL_2D, RELU, RESHAPE, MEAN = 0, 3, 4, 9, 17, 19, 22, 40
OPT_CONV, OPT_DEPTHWISE, OPT_POOL, OPT_FC, OPT_ADD, OPT_RESHAPE, OPT_REDUCER = 1, 2, 5, 8, 11, 17, 27
SAME, VALID = 0, 1
ACT_NONE, ACT_RELU, ACT_RELU6 = 0, 1, 3
FLOAT32, INT32 = 0, 2


class Writer:
    def __init__(self):
        self.tensors = []   # (name, shape, type, buffer index)
        self.buffers = [b""]  # buffer 0: empty, by convention
        self.ops = []       # (opcode, inputs, outputs, options type, options builder)
        self.codes = []

    def tensor(self, name, shape, data=None, dtype=FLOAT32):
        buffer = 0
        if data is not None:
            self.buffers.append(np.ascontiguousarray(data).tobytes())
            buffer = len(self.buffers) - 1
        self.tensors.append((name, [int(d) for d in shape], dtype, buffer))
        return len(self.tensors) - 1

    def op(self, code, inputs, outputs, options_type=0, options=None):
        if code not in self.codes:
            self.codes.append(code)
        self.ops.append((self.codes.index(code), inputs, outputs, options_type, options))

    def finish(self, inputs, outputs):
        b = flatbuffers.Builder(1 << 20)

        def int_vector(start, values):
            start(b, len(values))
            for v in reversed(values):
                b.PrependInt32(v)
            return b.EndVector()

        def table_vector(start, offsets):
            start(b, len(offsets))
            for o in reversed(offsets):
                b.PrependUOffsetTRelative(o)
            return b.EndVector()

        buffers = []
        for data in self.buffers:
            vector = b.CreateByteVector(data) if data else None
            Buffer.BufferStart(b)
            if vector is not None:
                Buffer.BufferAddData(b, vector)
            buffers.append(Buffer.BufferEnd(b))
        tensors = []
        for name, shape, dtype, buffer in self.tensors:
            name_offset = b.CreateString(name)
            shape_offset = int_vector(Tensor.TensorStartShapeVector, shape)
            Tensor.TensorStart(b)
            Tensor.TensorAddShape(b, shape_offset)
            Tensor.TensorAddType(b, dtype)
            Tensor.TensorAddBuffer(b, buffer)
            Tensor.TensorAddName(b, name_offset)
            tensors.append(Tensor.TensorEnd(b))
        operators = []
        for code, op_inputs, op_outputs, options_type, options in self.ops:
            options_offset = options(b) if options else None
            in_offset = int_vector(Operator.OperatorStartInputsVector, op_inputs)
            out_offset = int_vector(Operator.OperatorStartOutputsVector, op_outputs)
            Operator.OperatorStart(b)
            Operator.OperatorAddOpcodeIndex(b, code)
            Operator.OperatorAddInputs(b, in_offset)
            Operator.OperatorAddOutputs(b, out_offset)
            if options_offset is not None:
                Operator.OperatorAddBuiltinOptionsType(b, options_type)
                Operator.OperatorAddBuiltinOptions(b, options_offset)
            operators.append(Operator.OperatorEnd(b))
        tensors_vec = table_vector(SubGraph.SubGraphStartTensorsVector, tensors)
        inputs_vec = int_vector(SubGraph.SubGraphStartInputsVector, inputs)
        outputs_vec = int_vector(SubGraph.SubGraphStartOutputsVector, outputs)
        operators_vec = table_vector(SubGraph.SubGraphStartOperatorsVector, operators)
        SubGraph.SubGraphStart(b)
        SubGraph.SubGraphAddTensors(b, tensors_vec)
        SubGraph.SubGraphAddInputs(b, inputs_vec)
        SubGraph.SubGraphAddOutputs(b, outputs_vec)
        SubGraph.SubGraphAddOperators(b, operators_vec)
        subgraph = SubGraph.SubGraphEnd(b)
        codes = []
        for code in self.codes:
            OperatorCode.OperatorCodeStart(b)
            OperatorCode.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
            OperatorCode.OperatorCodeAddBuiltinCode(b, code)
            OperatorCode.OperatorCodeAddVersion(b, 1)
            codes.append(OperatorCode.OperatorCodeEnd(b))
        codes_vec = table_vector(Model.ModelStartOperatorCodesVector, codes)
        subgraphs_vec = table_vector(Model.ModelStartSubgraphsVector, [subgraph])
        buffers_vec = table_vector(Model.ModelStartBuffersVector, buffers)
        description = b.CreateString("preflight bench/to_tflite.py")
        Model.ModelStart(b)
        Model.ModelAddVersion(b, 3)
        Model.ModelAddOperatorCodes(b, codes_vec)
        Model.ModelAddSubgraphs(b, subgraphs_vec)
        Model.ModelAddDescription(b, description)
        Model.ModelAddBuffers(b, buffers_vec)
        b.Finish(Model.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def attribute(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def convert(path):
    model = onnx.load(path)
    graph = model.graph
    weights = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    shapes = {}
    w = Writer()
    index = {}
    x = graph.input[0]
    dims = [d.dim_value for d in x.type.tensor_type.shape.dim]
    if len(dims) == 4:
        dims = [dims[0], dims[2], dims[3], dims[1]]  # NCHW -> NHWC
    index[x.name] = w.tensor(x.name, dims)
    shapes[x.name] = dims
    nodes = list(graph.node)
    consumers = {}
    for n in nodes:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    fused = set()

    def activation_after(n):
        """RELU or RELU6 when the node's only reader is a Relu or Clip(0, 6): fused away."""
        readers = consumers.get(n.output[0], [])
        if len(readers) != 1:
            return ACT_NONE, n.output[0]
        r = readers[0]
        if r.op_type == "Relu":
            fused.add(id(r))
            return ACT_RELU, r.output[0]
        if r.op_type == "Clip":
            low = weights[r.input[1]] if len(r.input) > 1 and r.input[1] in weights else attribute(r, "min", None)
            high = weights[r.input[2]] if len(r.input) > 2 and r.input[2] in weights else attribute(r, "max", None)
            if low is not None and high is not None and float(low) == 0.0 and float(high) == 6.0:
                fused.add(id(r))
                return ACT_RELU6, r.output[0]
        return ACT_NONE, n.output[0]

    for n in nodes:
        if n.op_type == "Constant":  # Clip's bounds
            weights[n.output[0]] = numpy_helper.to_array(attribute(n, "value", None))
    for n in nodes:
        if id(n) in fused or n.op_type == "Constant":
            continue
        if n.op_type == "Conv":
            kernel = weights[n.input[1]]  # OIHW
            bias = weights[n.input[2]] if len(n.input) > 2 else np.zeros(kernel.shape[0], np.float32)
            groups = attribute(n, "group", 1)
            strides = attribute(n, "strides", [1, 1])
            pads = attribute(n, "pads", [0, 0, 0, 0])
            h, wd, c = shapes[n.input[0]][1:]
            kh, kw = kernel.shape[2], kernel.shape[3]
            padding = VALID if not any(pads) else SAME
            oh = (h + pads[0] + pads[2] - kh) // strides[0] + 1
            ow = (wd + pads[1] + pads[3] - kw) // strides[1] + 1
            act, out_name = activation_after(n)
            out_shape = [1, oh, ow, kernel.shape[0]]
            if groups == 1:
                k = w.tensor(n.input[1], [kernel.shape[0], kh, kw, kernel.shape[1]], kernel.transpose(0, 2, 3, 1))
                code, options_type = CONV_2D, OPT_CONV

                def options(b, s=strides, p=padding, a=act):
                    Conv2DOptions.Conv2DOptionsStart(b)
                    Conv2DOptions.Conv2DOptionsAddPadding(b, p)
                    Conv2DOptions.Conv2DOptionsAddStrideW(b, s[1])
                    Conv2DOptions.Conv2DOptionsAddStrideH(b, s[0])
                    Conv2DOptions.Conv2DOptionsAddFusedActivationFunction(b, a)
                    return Conv2DOptions.Conv2DOptionsEnd(b)
            else:
                assert groups == c, "only plain and depthwise convolutions"
                k = w.tensor(n.input[1], [1, kh, kw, kernel.shape[0]], kernel.transpose(1, 2, 3, 0))
                code, options_type = DEPTHWISE_CONV_2D, OPT_DEPTHWISE
                multiplier = kernel.shape[0] // c

                def options(b, s=strides, p=padding, a=act, m=multiplier):
                    DepthwiseConv2DOptions.DepthwiseConv2DOptionsStart(b)
                    DepthwiseConv2DOptions.DepthwiseConv2DOptionsAddPadding(b, p)
                    DepthwiseConv2DOptions.DepthwiseConv2DOptionsAddStrideW(b, s[1])
                    DepthwiseConv2DOptions.DepthwiseConv2DOptionsAddStrideH(b, s[0])
                    DepthwiseConv2DOptions.DepthwiseConv2DOptionsAddDepthMultiplier(b, m)
                    DepthwiseConv2DOptions.DepthwiseConv2DOptionsAddFusedActivationFunction(b, a)
                    return DepthwiseConv2DOptions.DepthwiseConv2DOptionsEnd(b)
            bias_index = w.tensor(n.name + ".bias", [kernel.shape[0]], bias.astype(np.float32))
            index[out_name] = w.tensor(out_name, out_shape)
            shapes[out_name] = out_shape
            w.op(code, [index[n.input[0]], k, bias_index], [index[out_name]], options_type, options)
        elif n.op_type == "MaxPool":
            kernel = attribute(n, "kernel_shape", None)
            strides = attribute(n, "strides", kernel)
            _, h, wd, c = shapes[n.input[0]]
            out_shape = [1, (h - kernel[0]) // strides[0] + 1, (wd - kernel[1]) // strides[1] + 1, c]

            def options(b, k=kernel, s=strides):
                Pool2DOptions.Pool2DOptionsStart(b)
                Pool2DOptions.Pool2DOptionsAddPadding(b, VALID)
                Pool2DOptions.Pool2DOptionsAddStrideW(b, s[1])
                Pool2DOptions.Pool2DOptionsAddStrideH(b, s[0])
                Pool2DOptions.Pool2DOptionsAddFilterWidth(b, k[1])
                Pool2DOptions.Pool2DOptionsAddFilterHeight(b, k[0])
                return Pool2DOptions.Pool2DOptionsEnd(b)
            index[n.output[0]] = w.tensor(n.output[0], out_shape)
            shapes[n.output[0]] = out_shape
            w.op(MAX_POOL_2D, [index[n.input[0]]], [index[n.output[0]]], OPT_POOL, options)
        elif n.op_type == "GlobalAveragePool":
            c = shapes[n.input[0]][3]
            axes = w.tensor(n.name + ".axes", [2], np.array([1, 2], np.int32), INT32)

            def options(b):
                ReducerOptions.ReducerOptionsStart(b)
                ReducerOptions.ReducerOptionsAddKeepDims(b, True)
                return ReducerOptions.ReducerOptionsEnd(b)
            index[n.output[0]] = w.tensor(n.output[0], [1, 1, 1, c])
            shapes[n.output[0]] = [1, 1, 1, c]
            w.op(MEAN, [index[n.input[0]], axes], [index[n.output[0]]], OPT_REDUCER, options)
        elif n.op_type in ("Flatten", "Reshape"):
            count = int(np.prod(shapes[n.input[0]][1:]))
            new_shape = w.tensor(n.name + ".shape", [2], np.array([1, count], np.int32), INT32)

            def options(b, count=count):
                ReshapeOptions.ReshapeOptionsStartNewShapeVector(b, 2)
                b.PrependInt32(count)
                b.PrependInt32(1)
                vector = b.EndVector()
                ReshapeOptions.ReshapeOptionsStart(b)
                ReshapeOptions.ReshapeOptionsAddNewShape(b, vector)
                return ReshapeOptions.ReshapeOptionsEnd(b)
            index[n.output[0]] = w.tensor(n.output[0], [1, count])
            shapes[n.output[0]] = [1, count]
            w.op(RESHAPE, [index[n.input[0]], new_shape], [index[n.output[0]]], OPT_RESHAPE, options)
        elif n.op_type == "Gemm":
            assert attribute(n, "transB", 0) == 1, "Gemm as torch exports Linear (transB=1)"
            weight = weights[n.input[1]]
            act, out_name = activation_after(n)
            k = w.tensor(n.input[1], weight.shape, weight)
            bias_index = w.tensor(n.input[2], [weight.shape[0]], weights[n.input[2]])

            def options(b, a=act):
                FullyConnectedOptions.FullyConnectedOptionsStart(b)
                FullyConnectedOptions.FullyConnectedOptionsAddFusedActivationFunction(b, a)
                return FullyConnectedOptions.FullyConnectedOptionsEnd(b)
            index[out_name] = w.tensor(out_name, [1, weight.shape[0]])
            shapes[out_name] = [1, weight.shape[0]]
            w.op(FULLY_CONNECTED, [index[n.input[0]], k, bias_index], [index[out_name]], OPT_FC, options)
        elif n.op_type == "Add":
            def options(b):
                AddOptions.AddOptionsStart(b)
                return AddOptions.AddOptionsEnd(b)
            index[n.output[0]] = w.tensor(n.output[0], shapes[n.input[0]])
            shapes[n.output[0]] = shapes[n.input[0]]
            w.op(ADD, [index[n.input[0]], index[n.input[1]]], [index[n.output[0]]], OPT_ADD, options)
        elif n.op_type == "Relu":
            index[n.output[0]] = w.tensor(n.output[0], shapes[n.input[0]])
            shapes[n.output[0]] = shapes[n.input[0]]
            w.op(RELU, [index[n.input[0]]], [index[n.output[0]]])
        else:
            raise SystemExit("%s: node %s: %s is not among the ops this converter knows" % (path, n.name, n.op_type))
    out = path[:-len(".onnx")] + ".tflite"
    with open(out, "wb") as f:
        f.write(w.finish([index[x.name]], [index[graph.output[0].name]]))
    # The overhead model: one RESHAPE of the input to its own shape.
    ident = Writer()
    a = ident.tensor("x", dims)
    s = ident.tensor("shape", [len(dims)], np.array(dims, np.int32), INT32)
    y = ident.tensor("y", dims)

    def reshape_options(b, d=dims):
        ReshapeOptions.ReshapeOptionsStartNewShapeVector(b, len(d))
        for v in reversed(d):
            b.PrependInt32(v)
        vector = b.EndVector()
        ReshapeOptions.ReshapeOptionsStart(b)
        ReshapeOptions.ReshapeOptionsAddNewShape(b, vector)
        return ReshapeOptions.ReshapeOptionsEnd(b)
    ident.op(RESHAPE, [a, s], [y], OPT_RESHAPE, reshape_options)
    with open(path[:-len(".onnx")] + ".identity.tflite", "wb") as f:
        f.write(ident.finish([a], [y]))
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.onnx"))):
        if path.endswith(".identity.onnx"):
            continue
        print("wrote", convert(path))


if __name__ == "__main__":
    main()
