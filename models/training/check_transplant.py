"""Checks the transplant: torch (with the ONNX weights) and onnxruntime agree on a real
frame. Usage: check_transplant.py ONNX IMAGE"""
import sys

import cv2
import numpy as np
import onnxruntime as ort
import torch

import common
import transplant

onnx_path, image = sys.argv[1], sys.argv[2]
model = transplant.build_model()
n = transplant.load_onnx_weights(model, onnx_path)
model.eval()
model.head.decode_in_inference = False
img, _ = common.letterbox(cv2.imread(image), np.zeros((0, 5), np.float32), 16 / 9)
x = np.ascontiguousarray(img.transpose(2, 0, 1)[None]).astype(np.float32)
with torch.no_grad():
    t = model(torch.from_numpy(x)).numpy()
o = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"]).run(None, {"images": x})[0]
print(f"{n} convolutions transplanted; output {t.shape}; max |torch - onnxruntime| = {np.abs(t - o).max():.2e}")
sys.exit(0 if np.abs(t - o).max() < 1e-3 else 1)
