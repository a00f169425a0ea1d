// Placeholder replaced by the rate loaders.
#include "tokenbook/rate_sources.h"
