"""Optional hooks a scorer kind offers beyond building its scorer: its items (records and the
results view), its calibration and its variance. The pipeline iterates the kinds that offer a
hook and never names a kind.
"""

from scorers.hooks.calibration_hook import CalibrationHook
from scorers.hooks.items_hook import ItemRecordColumns, ItemsHook
from scorers.hooks.kind_hooks import KindHooks
from scorers.hooks.variance_hook import VarianceHook

__all__ = ["CalibrationHook", "ItemRecordColumns", "ItemsHook", "KindHooks", "VarianceHook"]
