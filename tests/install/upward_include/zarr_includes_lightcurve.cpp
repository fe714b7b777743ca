// Compiled as part of the zarr layer, this include of a higher layer must
// fail: the layer's include root does not hold the lightcurve headers.
#include "lcstore/lightcurve/light_curve_store.h"
