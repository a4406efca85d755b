"""The sky: WCSs, tract/patch skymaps, HTM reference catalogues, positional matching.

Modules:

- `wcs`: TAN(-SIP) WCSs of simulated pointings and tracts;
- `skymap`: tracts and patches with their sky regions (the stack's ``DiscreteSkyMap``);
- `refcat`: HTM-7 sharded reference catalogues, written and loaded;
- `matching`: one-to-one matching of catalogues on the sky or in pixels.
"""
