"""``torch.ao.quantization.qconfig_mapping``: QConfigMapping, which QConfig applies to which
modules (global, by type, by name, by name pattern, by call order). Plain bookkeeping,
genuine; the default mappings list PyTorch's per-op quantized configurations and are refused."""

from __future__ import annotations

from collections import OrderedDict

from ...nn.quantized._unsupported import refuse

__all__ = ["QConfigMapping", "get_default_qat_qconfig_mapping", "get_default_qconfig_mapping"]

_GLOBAL = ""
_TYPE = "object_type"
_REGEX = "module_name_regex"
_NAME = "module_name"
_ORDER = "module_name_object_type_order"


class QConfigMapping:
    """QConfigs by scope; later ``set_*`` calls of the same key override earlier ones."""

    def __init__(self) -> None:
        self.global_qconfig = None
        self.object_type_qconfigs: OrderedDict = OrderedDict()
        self.module_name_regex_qconfigs: OrderedDict = OrderedDict()
        self.module_name_qconfigs: OrderedDict = OrderedDict()
        self.module_name_object_type_order_qconfigs: OrderedDict = OrderedDict()

    def set_global(self, global_qconfig) -> QConfigMapping:
        """The QConfig of everything no other entry matches."""
        self.global_qconfig = global_qconfig
        return self

    def set_object_type(self, object_type, qconfig) -> QConfigMapping:
        """The QConfig of modules (or functions) of ``object_type``."""
        self.object_type_qconfigs[object_type] = qconfig
        return self

    def set_module_name_regex(self, module_name_regex: str, qconfig) -> QConfigMapping:
        """The QConfig of modules whose qualified names match the pattern."""
        self.module_name_regex_qconfigs[module_name_regex] = qconfig
        return self

    def set_module_name(self, module_name: str, qconfig) -> QConfigMapping:
        """The QConfig of the module with this qualified name."""
        self.module_name_qconfigs[module_name] = qconfig
        return self

    def set_module_name_object_type_order(self, module_name: str, object_type, index: int,
                                          qconfig) -> QConfigMapping:
        """The QConfig of the ``index``-th call of ``object_type`` inside ``module_name``."""
        self.module_name_object_type_order_qconfigs[(module_name, object_type, index)] = qconfig
        return self

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for key, entries in ((_GLOBAL, self.global_qconfig), (_TYPE, self.object_type_qconfigs),
                             (_REGEX, self.module_name_regex_qconfigs),
                             (_NAME, self.module_name_qconfigs),
                             (_ORDER, self.module_name_object_type_order_qconfigs)):
            lines.append(f" {key or 'global_qconfig'}\n  {entries}")
        return "\n".join(lines) + "\n)"

    def to_dict(self) -> dict:
        """The deprecated qconfig_dict form (lists of (key, qconfig) pairs)."""
        return {
            _GLOBAL: self.global_qconfig,
            _TYPE: list(self.object_type_qconfigs.items()),
            _REGEX: list(self.module_name_regex_qconfigs.items()),
            _NAME: list(self.module_name_qconfigs.items()),
            _ORDER: [(*key, qconfig) for key, qconfig
                     in self.module_name_object_type_order_qconfigs.items()],
        }

    @classmethod
    def from_dict(cls, qconfig_dict: dict) -> QConfigMapping:
        """The mapping a qconfig_dict describes."""
        mapping = cls()
        if _GLOBAL in qconfig_dict:
            mapping.set_global(qconfig_dict[_GLOBAL])
        for object_type, qconfig in qconfig_dict.get(_TYPE, []):
            mapping.set_object_type(object_type, qconfig)
        for pattern, qconfig in qconfig_dict.get(_REGEX, []):
            mapping.set_module_name_regex(pattern, qconfig)
        for name, qconfig in qconfig_dict.get(_NAME, []):
            mapping.set_module_name(name, qconfig)
        for name, object_type, index, qconfig in qconfig_dict.get(_ORDER, []):
            mapping.set_module_name_object_type_order(name, object_type, index, qconfig)
        return mapping


def get_default_qconfig_mapping(backend: str = "x86", version: int = 0):
    """Not supported: PyTorch's default mapping lists its quantized-op configurations."""
    raise refuse("torch.ao.quantization.get_default_qconfig_mapping")


def get_default_qat_qconfig_mapping(backend: str = "x86", version: int = 1):
    """Not supported: PyTorch's default QAT mapping lists its quantized-op configurations."""
    raise refuse("torch.ao.quantization.get_default_qat_qconfig_mapping")
