"""Scale-out export: a shot cut into frame-range chunks rendered independently (one machine or a
render farm) and joined without re-encoding, Open Job Description bundles for farms, and batch
runs of shot lists."""
