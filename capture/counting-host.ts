/**
 * Whether the capture of hypervisor `here` counts a direction, so that one seen by several hypervisors is
 * counted once: it belongs to its sender's host when that host is captured, else to its receiver's; a
 * direction between hosts none of which is captured is counted wherever it is seen.
 */
export function countedHere(
  here: string,
  senderHost: string | undefined,
  receiverHost: string | undefined,
  captured: ReadonlySet<string>,
): boolean {
  const owner =
    senderHost !== undefined && captured.has(senderHost)
      ? senderHost
      : receiverHost !== undefined && captured.has(receiverHost)
        ? receiverHost
        : undefined;
  return owner === undefined || owner === here;
}
