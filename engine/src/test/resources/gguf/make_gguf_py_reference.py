#!/usr/bin/env python3
"""Writes gguf-py-reference.gguf with llama.cpp's own Python writer (pip package `gguf`, 0.19.0).

GgufPyCompatibilityTest builds the same content with herd's GgufWriter and expects identical bytes.
Run: python3 make_gguf_py_reference.py   (from this folder; needs `pip install gguf==0.19.0`)
"""
import numpy as np
from gguf import GGUFWriter, GGUFValueType as T, GGMLQuantizationType as Q

w = GGUFWriter("gguf-py-reference.gguf", arch="test")      # adds general.architecture first
w.add_custom_alignment(64)                                   # general.alignment, uint32
w.add_uint8("t.u8", 255)
w.add_int8("t.i8", -128)
w.add_uint16("t.u16", 65535)
w.add_int16("t.i16", -32768)
w.add_uint32("t.u32", 4294967295)
w.add_int32("t.i32", -2147483648)
w.add_uint64("t.u64", 2**64 - 1)
w.add_int64("t.i64", -2**63)
w.add_float32("t.f32", 1.5)
w.add_float64("t.f64", -2.25)
w.add_bool("t.bool", True)
w.add_string("t.str", "h\u00e9llo \u2713")
w.add_key_value("t.arr.u8", [0, 1, 255], T.ARRAY, sub_type=T.UINT8)
w.add_key_value("t.arr.i16", [-1, 2], T.ARRAY, sub_type=T.INT16)
w.add_key_value("t.arr.u64", [2**64 - 1, 0], T.ARRAY, sub_type=T.UINT64)
w.add_key_value("t.arr.f64", [0.5, -1.0], T.ARRAY, sub_type=T.FLOAT64)
w.add_array("t.arr.i32", [7, -8, 9])                        # ints default to int32
w.add_array("t.arr.f32", [0.25, -3.0])                      # floats default to float32
w.add_array("t.arr.str", ["a", "", "\u00fc"])
w.add_array("t.arr.bool", [True, False])
w.add_array("t.nested", [[1, 2], [3]])                      # array of int32 arrays
w.add_array("t.nested.str", [["x"], ["y", "z"]])

w.add_tensor("a.f32", np.arange(10, dtype=np.float32))                       # 40 bytes, padded to 64
w.add_tensor("b.f16", (np.arange(12, dtype=np.float32) * 0.5).astype(np.float16).reshape(3, 4))
w.add_tensor("c.q8_0", (np.arange(68) % 256).astype(np.uint8).reshape(2, 34), raw_dtype=Q.Q8_0)
w.add_tensor("d.i32", np.arange(5, dtype=np.int32) - 2)

w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
