"""SM2 signatures for the evidence log's chain heads.

Until ``yiwang.core.gm`` lands (branch ``gm``) this borrows the same-named functions of
``licenses.keys``; the exchange is a base app and must import ``core.gm`` only, once it exists.
"""

try:
    from yiwang.core.gm import sm2_keypair, sm2_sign, sm2_verify
except ImportError:  # pragma: no cover - until core.gm is merged
    from yiwang.licenses.keys import sm2_generate as sm2_keypair
    from yiwang.licenses.keys import sm2_sign, sm2_verify

__all__ = ["sm2_keypair", "sm2_sign", "sm2_verify"]
