"""Builds the official YOLOX-nano (yolox-datamint) and loads the shipped ONNX weights
into it. The export folded batch-norm into the convolutions, so each BaseConv's
BatchNorm becomes an identity carrying the folded bias (mean 0, var 1 - eps, gamma 1,
beta = bias); training keeps BatchNorm in eval mode (frozen statistics).

Convolutions are matched in execution order: the ONNX graph's Conv nodes in graph order
against torch's Conv2d calls during one forward pass; every shape must agree.
"""
import numpy as np
import onnx
import torch
from onnx import numpy_helper


def build_model():
    from yolox.exp.default.yolox_nano import Exp
    exp = Exp()
    exp.num_classes = 80
    return exp.get_model()


def onnx_convs(path):
    model = onnx.load(path)
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    convs = []
    for node in model.graph.node:
        if node.op_type == "Conv":
            w = init[node.input[1]]
            b = init[node.input[2]] if len(node.input) > 2 else None
            convs.append((node.name, w, b))
    return convs


def torch_convs_in_execution_order(model):
    order, hooks = [], []
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Conv2d):
            hooks.append(m.register_forward_hook(lambda mod, i, o, name=name: order.append(name)))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, 416, 416))
    for h in hooks:
        h.remove()
    return order


def load_onnx_weights(model, onnx_path):
    convs = onnx_convs(onnx_path)
    order = torch_convs_in_execution_order(model)
    if len(order) != len(convs):
        raise SystemExit(f"{onnx_path}: {len(convs)} convolutions, the torch model runs {len(order)}")
    modules = dict(model.named_modules())
    for name, (onnx_name, w, b) in zip(order, convs):
        conv = modules[name]
        if tuple(conv.weight.shape) != w.shape:
            raise SystemExit(f"{name} {tuple(conv.weight.shape)} does not match ONNX {onnx_name} {w.shape}")
        conv.weight.data = torch.from_numpy(w.copy())
        parent = modules[name.rsplit(".", 1)[0]] if "." in name else None
        bn = getattr(parent, "bn", None) if parent is not None and name.endswith(".conv") else None
        if conv.bias is not None:
            conv.bias.data = torch.from_numpy(b.copy()) if b is not None else torch.zeros_like(conv.bias)
        elif bn is not None:
            bn.weight.data.fill_(1.0)
            bn.bias.data = torch.from_numpy(b.copy()) if b is not None else torch.zeros_like(bn.bias)
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
        elif b is not None and np.abs(b).max() > 0:
            raise SystemExit(f"{name}: ONNX has a bias but the torch conv has neither bias nor BatchNorm")
    return len(order)


def freeze_batchnorm(model):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()


def export_onnx(model, path):
    """Same contract as the shipped file: input `images` [1,3,416,416] BGR 0..255,
    output `output` [1,3549,85] (raw xy/log-wh, sigmoid obj and cls)."""
    model.eval()
    model.head.decode_in_inference = False
    torch.onnx.export(model, torch.zeros(1, 3, 416, 416), path, input_names=["images"], output_names=["output"],
                      opset_version=13, do_constant_folding=True, dynamo=False)
