"""``torch.ao.quantization.quantization_mappings``: the float-to-quantized module tables. deltagrad
has no quantized tensors or int8 kernels, so each raises NotImplementedError naming itself when
called (importing them works)."""

from __future__ import annotations

from ...nn.quantized._unsupported import refuse

__all__ = ["get_default_compare_output_module_list", "get_default_dynamic_quant_module_mappings",
           "get_default_dynamic_sparse_quant_module_mappings",
           "get_default_float_to_quantized_operator_mappings", "get_default_qat_module_mappings",
           "get_default_qconfig_propagation_list", "get_default_static_quant_module_mappings",
           "get_default_static_quant_reference_module_mappings",
           "get_default_static_sparse_quant_module_mappings", "get_dynamic_quant_module_class",
           "get_embedding_qat_module_mappings", "get_embedding_static_quant_module_mappings",
           "get_quantized_operator", "get_static_quant_module_class", "no_observer_set"]


def get_default_compare_output_module_list(*args, **kwargs):
    """Not supported: raises NotImplementedError."""
    raise refuse("torch.ao.quantization.get_default_compare_output_module_list")

def get_default_dynamic_quant_module_mappings(*args, **kwargs):
    """Not supported: raises NotImplementedError."""
    raise refuse("torch.ao.quantization.get_default_dynamic_quant_module_mappings")

def get_default_dynamic_sparse_quant_module_mappings(*args, **kwargs):
    """Not supported: raises NotImplementedError."""
    raise refuse("torch.ao.quantization.get_default_dynamic_sparse_quant_module_mappings")

def get_default_float_to_quantized_operator_mappings(*args, **kwargs):
    """Not supported: raises NotImplementedError."""
    raise refuse("torch.ao.quantization.get_default_float_to_quantized_operator_mappings")

def get_default_qat_module_mappings(*args, **kwargs):
    """PyTorch's ``get_default_qat_module_mappings``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.get_default_qat_module_mappings")

def get_default_qconfig_propagation_list(*args, **kwargs):
    """Not supported: raises NotImplementedError."""
    raise refuse("torch.ao.quantization.get_default_qconfig_propagation_list")

def get_default_static_quant_module_mappings(*args, **kwargs):
    """Not supported: raises NotImplementedError."""
    raise refuse("torch.ao.quantization.get_default_static_quant_module_mappings")

def get_default_static_quant_reference_module_mappings(*args, **kwargs):
    """Not supported: raises NotImplementedError."""
    raise refuse("torch.ao.quantization.get_default_static_quant_reference_module_mappings")

def get_default_static_sparse_quant_module_mappings(*args, **kwargs):
    """Not supported: raises NotImplementedError."""
    raise refuse("torch.ao.quantization.get_default_static_sparse_quant_module_mappings")

def get_dynamic_quant_module_class(*args, **kwargs):
    """PyTorch's ``get_dynamic_quant_module_class``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.get_dynamic_quant_module_class")

def get_embedding_qat_module_mappings(*args, **kwargs):
    """Not supported: raises NotImplementedError."""
    raise refuse("torch.ao.quantization.get_embedding_qat_module_mappings")

def get_embedding_static_quant_module_mappings(*args, **kwargs):
    """Not supported: raises NotImplementedError."""
    raise refuse("torch.ao.quantization.get_embedding_static_quant_module_mappings")

def get_quantized_operator(*args, **kwargs):
    """PyTorch's ``get_quantized_operator``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.get_quantized_operator")

def get_static_quant_module_class(*args, **kwargs):
    """PyTorch's ``get_static_quant_module_class``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.get_static_quant_module_class")

def no_observer_set(*args, **kwargs):
    """PyTorch's ``no_observer_set``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.no_observer_set")
