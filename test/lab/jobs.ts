import type { Lab } from './lab.js';
import { runShuffle } from './shuffle.js';

/** The lab's jobs on one bridge: what each is, the pattern it follows, and how to run it for its truth. */
export const LAB_JOBS: {
  fixture: string;
  title: string;
  pattern: string;
  run: (lab: Lab) => Map<string, number> | Promise<Map<string, number>>;
}[] = [
  {
    fixture: 'mpi-ring',
    title: 'Open MPI ring',
    pattern: 'ring',
    run: async (lab) => (await lab.runMpi('ring', 4 << 20, 10)).truth,
  },
  {
    fixture: 'mpi-alltoall',
    title: 'Open MPI all-to-all',
    pattern: 'all-to-all',
    run: async (lab) => (await lab.runMpi('alltoall', 4 << 20, 10)).truth,
  },
  {
    fixture: 'socket-shuffle',
    title: 'a MapReduce-like shuffle over plain TCP sockets (not MPI)',
    pattern: 'shuffle',
    run: (lab) => runShuffle(lab, 3 << 20),
  },
];
