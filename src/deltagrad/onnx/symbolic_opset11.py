"""``torch.onnx.symbolic_opset11``: PyTorch's opset-11 translations, used by symbolic functions
only while exporting ONNX. deltagrad cannot export (``onnx.export`` raises), so the module is
empty: importing it works, and any translation is a missing attribute."""

__all__: list[str] = []
