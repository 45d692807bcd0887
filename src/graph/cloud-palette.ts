/**
 * Okabe-Ito colours: told apart by readers with any common colour-vision deficiency. Clouds get them in
 * name order, so a cloud keeps its colour across the report, the exports and runs of the same cluster.
 */
const OKABE_ITO = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];
/** Nodes with no cloud: unplaced or unknown hosts. */
export const NO_CLOUD_COLOUR = '#BBBBBB';
/** External peers, billed as internet egress. */
export const INTERNET_COLOUR = '#555555';

export function cloudPalette(clouds: Iterable<string>): Map<string, string> {
  const names = [...new Set(clouds)].sort();
  return new Map(names.map((name, i) => [name, OKABE_ITO[i % OKABE_ITO.length] as string]));
}
