import type { Deliverer, Delivery } from './spool-sink.js';

/** Windows to a `sky-plan collect` aggregator: POST /v1/windows. */
export function httpDeliverer(url: string, token?: string): Deliverer {
  return {
    name: `aggregator ${url}`,
    async deliver(_file, body): Promise<Delivery> {
      const response = await fetch(`${url}/v1/windows`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
        body,
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      if (response.ok) return { taken: true };
      // A wrong token is this collector's configuration, not the window's fault: keep it and retry.
      const retryable = response.status === 401 || response.status === 403 || response.status === 429;
      if (response.status >= 400 && response.status < 500 && !retryable)
        return { refused: `${response.status}: ${text.trim()}` };
      return { retry: `answered ${response.status}` };
    },
    close: () => Promise.resolve(),
  };
}
