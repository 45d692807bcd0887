#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
/*
 * The lab's MPI job, with a known communication pattern: `ring` (each rank sends SIZE bytes to rank + 1,
 * ITER times) or `alltoall` (to every other rank). Usage: mpi-pattern ring|alltoall SIZE ITER
 */
int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, n; MPI_Comm_rank(MPI_COMM_WORLD, &rank); MPI_Comm_size(MPI_COMM_WORLD, &n);
  const char *mode = argc > 1 ? argv[1] : "ring";
  int size = argc > 2 ? atoi(argv[2]) : 1 << 20, iter = argc > 3 ? atoi(argv[3]) : 10;
  char *out = malloc(size), *in = malloc(size); memset(out, rank, size);
  for (int it = 0; it < iter; it++) {
    if (strcmp(mode, "ring") == 0) {
      MPI_Sendrecv(out, size, MPI_BYTE, (rank + 1) % n, 0, in, size, MPI_BYTE, (rank + n - 1) % n, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else {
      for (int d = 1; d < n; d++)
        MPI_Sendrecv(out, size, MPI_BYTE, (rank + d) % n, 0, in, size, MPI_BYTE, (rank + n - d) % n, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
  }
  MPI_Finalize();
  return 0;
}
