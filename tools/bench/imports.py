# Import what the pairing needs and nothing else: the code's own heap footprint.
import devicepair.http  # noqa: F401
import devicepair.device_flow  # noqa: F401
import devicepair.tokens  # noqa: F401
print("PAIRED 0")
