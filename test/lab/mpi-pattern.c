#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>
/*
 * The lab's MPI job, with a known communication pattern: `ring` (each rank sends SIZE bytes to rank + 1,
 * ITER times), `alltoall` (to every other rank), or `switch` (ITER rounds of ring, then ITER rounds of
 * all-to-all at the same volume: SIZE / (n - 1) to each other rank; rank 0 prints the switch time, in
 * seconds since the epoch). PAUSE_MS between rounds spreads the job over time.
 * Usage: mpi-pattern ring|alltoall|switch SIZE ITER [PAUSE_MS]
 */
static void ring(char *out, char *in, int size, int rank, int n) {
  MPI_Sendrecv(out, size, MPI_BYTE, (rank + 1) % n, 0, in, size, MPI_BYTE, (rank + n - 1) % n, 0,
               MPI_COMM_WORLD, MPI_STATUS_IGNORE);
}

static void alltoall(char *out, char *in, int size, int rank, int n) {
  for (int d = 1; d < n; d++)
    MPI_Sendrecv(out, size, MPI_BYTE, (rank + d) % n, 0, in, size, MPI_BYTE, (rank + n - d) % n, 0,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, n; MPI_Comm_rank(MPI_COMM_WORLD, &rank); MPI_Comm_size(MPI_COMM_WORLD, &n);
  const char *mode = argc > 1 ? argv[1] : "ring";
  int size = argc > 2 ? atoi(argv[2]) : 1 << 20, iter = argc > 3 ? atoi(argv[3]) : 10;
  int pause_ms = argc > 4 ? atoi(argv[4]) : 0;
  char *out = malloc(size), *in = malloc(size); memset(out, rank, size);
  int rounds = strcmp(mode, "switch") == 0 ? 2 * iter : iter;
  for (int it = 0; it < rounds; it++) {
    if (strcmp(mode, "ring") == 0 || (strcmp(mode, "switch") == 0 && it < iter)) {
      ring(out, in, size, rank, n);
    } else if (strcmp(mode, "switch") == 0) {
      if (it == iter && rank == 0) {
        struct timeval tv; gettimeofday(&tv, NULL);
        printf("switch %.3f\n", tv.tv_sec + tv.tv_usec / 1e6); fflush(stdout);
      }
      alltoall(out, in, size / (n - 1), rank, n);
    } else {
      alltoall(out, in, size, rank, n);
    }
    if (pause_ms > 0) usleep(pause_ms * 1000);
  }
  MPI_Finalize();
  return 0;
}
