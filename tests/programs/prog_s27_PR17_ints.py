"""Integer-edge programs (PR17, session 27), written afresh the way public code meets them:
cumsum / prod / sum of int8 / uint8 / int32 with and without dtype= (and the int64 they
promote to), overflow wrap-around of int tensors, integer division and remainder of
negatives (floor_divide, div rounding modes, fmod vs remainder), bitwise ops and shifts, and
the promotion of mixed int / float / bool arithmetic. Run by prog_s27_PR17_all.py.
"""

import torch
from prog_s25_PR9_harness import printed, put


def section_int_reduce() -> None:
    with printed("ir.log"):
        for dt in (torch.int8, torch.uint8, torch.int16, torch.int32, torch.bool):
            t = torch.tensor([100, 100, 100, 1], dtype=dt) if dt != torch.bool else \
                torch.tensor([True, True, False, True])
            print(dt, "sum", t.sum(), t.sum().dtype, "cumsum", t.cumsum(0).dtype,
                  "prod", t.prod().dtype, "cumprod", t.cumprod(0).dtype)
            print("  dtype=", t.sum(dtype=torch.int8), t.cumsum(0, dtype=torch.int32),
                  t.sum(dtype=torch.float32), t.prod(dtype=torch.int16))
        u = torch.tensor([200, 100], dtype=torch.uint8)
        print("uint8 wrap", u + u, u * 2, u - torch.tensor([201, 0], dtype=torch.uint8))
        i8 = torch.tensor([127, -128], dtype=torch.int8)
        print("int8 wrap", i8 + 1, -i8, i8.abs(), i8 * i8)
        big = torch.tensor([2 ** 31 - 1], dtype=torch.int32)
        print("int32 wrap", big + 1, (big + 1).dtype, big.to(torch.int64) + 1)
        print("int64 max", torch.tensor([2 ** 63 - 1]) + 1)
        print("mean int", end=" ")
        try:
            torch.tensor([1, 2]).mean()
        except RuntimeError as e:
            print("RuntimeError", "mean" in str(e))
        print("float mean", torch.tensor([1, 2]).float().mean(), torch.tensor([1, 2]).mean(
            dtype=torch.float64))
        print("bincount", torch.bincount(torch.tensor([0, 3, 3, 1])), torch.tensor(
            [3, 1, 2], dtype=torch.uint8).sort())
        print("to uint8", torch.tensor([-1.0, 255.7, 3.9]).to(torch.uint8)[1:],
              torch.tensor([3.9, -3.9]).int(), torch.tensor([300]).to(torch.uint8))
        put("ir.u", (u + u).long())


def section_int_div() -> None:
    a = torch.tensor([7, -7, 7, -7, 0])
    b = torch.tensor([2, 2, -2, -2, 3])
    with printed("id.log"):
        print("//", a // b, "floor_divide", torch.floor_divide(a, b))
        print("div trunc", torch.div(a, b, rounding_mode="trunc"),
              "floor", torch.div(a, b, rounding_mode="floor"))
        print("true div", a / b, (a / b).dtype, torch.true_divide(a, 2).dtype)
        print("%", a % b, "remainder", torch.remainder(a, b), "fmod", torch.fmod(a, b))
        print("float %", torch.tensor([-7.5, 7.5]) % 2, torch.fmod(torch.tensor([-7.5, 7.5]), 2))
        print("scalar", a // 3, a % -3, -7 // torch.tensor(2), 7 % torch.tensor(-3))
        try:
            print(torch.tensor([1]) // torch.tensor([0]))
        except RuntimeError as e:
            print("ZeroDivision RuntimeError", "ZeroDivisionError" in str(e))
        print("float by zero", torch.tensor([1.0, -1.0, 0.0]) // 0, torch.tensor([5]) / 0)
        print("int8 //", torch.tensor([-128], dtype=torch.int8) // torch.tensor([3],
                                                                               dtype=torch.int8))
        print("pow int", torch.tensor([2, 3]) ** 2, torch.tensor([2]) ** 0.5,
              (torch.tensor([2], dtype=torch.int32) ** 2).dtype)
        try:
            torch.tensor([2]) ** -1
        except RuntimeError as e:
            print("negative power RuntimeError", "negative" in str(e).lower())
        put("id.fl", torch.div(a, b, rounding_mode="floor"))


def section_bitwise() -> None:
    with printed("bw.log"):
        x = torch.tensor([1, 2, 255, -1], dtype=torch.int32)
        print("<<", x << 2, "<<31", torch.tensor([1]) << 62, x >> 1, x >> 31)
        print("and/or/xor", x & 6, x | 8, x ^ 3, ~x)
        u = torch.tensor([0b1010, 255], dtype=torch.uint8)
        print("uint8", u << 1, u >> 2, ~u, torch.bitwise_left_shift(u, 4))
        print("bool ops", torch.tensor([True, False]) & torch.tensor([True, True]),
              ~torch.tensor([True, False]), torch.tensor([True, False]) ^ True)
        print("bool arith", torch.tensor([True, True]).sum(), torch.tensor([True]) + True,
              (torch.tensor([True]) + True).dtype, torch.tensor([True]) * 2.5)
        try:
            torch.tensor([1.0]) & torch.tensor([1.0])
        except (RuntimeError, TypeError) as e:
            print("float &", type(e).__name__)
        try:
            print(-torch.tensor([True]))
        except RuntimeError:
            print("neg bool RuntimeError")
        packed = (torch.tensor([[1, 0, 1, 1, 0, 0, 0, 1]], dtype=torch.uint8)
                  << torch.arange(7, -1, -1, dtype=torch.uint8)).sum(1)
        print("packed", packed, packed.dtype)
        h = torch.tensor([12345, 678])
        print("hash mix", (h * 2654435761) % (2 ** 32), (h ^ (h >> 3)) & 0xFF)
        print("promote", (torch.tensor([1], dtype=torch.int8) + torch.tensor([1],
              dtype=torch.uint8)).dtype, (torch.tensor([1], dtype=torch.int32) + 1.5).dtype,
              (torch.tensor([1], dtype=torch.int16) * torch.tensor(2.0)).dtype,
              torch.result_type(torch.tensor([1]), 1.0), torch.promote_types(torch.uint8,
                                                                            torch.int8))
        put("bw.p", packed.long())


SECTIONS = {"int_reduce": section_int_reduce, "int_div": section_int_div,
            "bitwise": section_bitwise}
