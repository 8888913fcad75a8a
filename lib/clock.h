/* Wall clock in milliseconds, for timestamps that cross machines. */
#ifndef SM_CLOCK_H
#define SM_CLOCK_H

#include <stdint.h>

uint64_t clock_wall_ms(void);

#endif
