/* Links to every configured basenoded: RegisterSupernode on each stream,
 * LoadReport every heartbeat, ExitRegionRequest for other regions. */
#ifndef SN_DIRECTORY_H
#define SN_DIRECTORY_H

#include <stddef.h>
#include <stdint.h>
#include "msg.h"
#include "supernoded.h"

int directory_new(struct supernoded *sn, struct sn_directory **out);
/* Closes links and timer; memory goes in close callbacks. */
void directory_free(struct sn_directory *d);
/* Sends ExitRegionRequest on the first link that is up. 0 or -ENOTCONN. */
int directory_lookup(struct sn_directory *d, const char *region,
                     const uint8_t id[MSG_ID_LEN]);
size_t directory_up(const struct sn_directory *d);
/* CPU use in percent of one core over the last heartbeat (LoadReport). */
uint32_t directory_cpu_pct(const struct sn_directory *d);

#endif
