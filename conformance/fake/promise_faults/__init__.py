"""Hand-written faults that break one promise each (for what an edit of a JSON body cannot express:
streams, events, orders, side effects).  Each module holds `FAULTS: dict[str, Fault]`; faults.py gathers them."""

from . import containers, images, networks, streams, swarm

__all__ = ["containers", "images", "networks", "streams", "swarm"]
