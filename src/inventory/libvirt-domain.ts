/**
 * What sky-plan reads of libvirt's domain XML (`virsh dumpxml`). libvirt writes its XML in one fixed
 * style, so elements are found by pattern; the ones read here never nest in themselves.
 */

/** A file-backed disk of a domain. */
export interface DomainDisk {
  target: string;
  path: string;
  format: string;
  /** Its backing files, nearest first (the live XML's backingStore chain), and the nearest's format. */
  backing: string[];
  backingFormat?: string;
}

export interface DomainNic {
  mac: string;
  bridge?: string;
  /** The host's tap device (`<target dev>`), present while the domain runs. */
  tap?: string;
}

export interface Domain {
  name: string;
  vcpus: number;
  memoryGiB: number;
  nics: DomainNic[];
  disks: DomainDisk[];
}

/** An XML attribute's or element's text, its five predefined entities replaced. */
export const xmlText = (s: string) =>
  s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) =>
    e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'quot' ? '"' : e === 'apos' ? "'" : '&',
  );

const attribute = (xml: string, element: string, name: string) => {
  const value = new RegExp(`<${element}\\b[^>]*\\b${name}=(['"])(.*?)\\1`).exec(xml)?.[2];
  return value === undefined ? undefined : xmlText(value);
};

const elements = (xml: string, name: string) =>
  [...xml.matchAll(new RegExp(`<${name}\\b([^>]*)>([\\s\\S]*?)</${name}>`, 'g'))].map((m) => ({
    head: m[1] ?? '',
    body: m[2] ?? '',
  }));

const KIB: Record<string, number> = {
  b: 1 / 1024,
  bytes: 1 / 1024,
  k: 1,
  kib: 1,
  m: 1024,
  mib: 1024,
  g: 2 ** 20,
  gib: 2 ** 20,
};

/** The domain's file disks: CD-ROMs and network disks are left out (they are not copied). */
export function parseDomainDisks(xml: string): DomainDisk[] {
  const disks: DomainDisk[] = [];
  for (const { head, body } of elements(xml, 'disk')) {
    if (!/type=['"]file['"]/.test(head) || !/device=['"]disk['"]/.test(head)) continue;
    const target = attribute(body, 'target', 'dev');
    const path = attribute(body, 'source', 'file');
    if (target === undefined || path === undefined) continue;
    const at = body.indexOf('<backingStore');
    const chain = at < 0 ? '' : body.slice(at);
    const backing = [...chain.matchAll(/<source\b[^>]*\bfile=(['"])(.*?)\1/g)].map((m) =>
      xmlText(m[2] ?? ''),
    );
    const backingFormat = backing.length > 0 ? attribute(chain, 'format', 'type') : undefined;
    disks.push({
      target,
      path,
      format: attribute(body, 'driver', 'type') ?? 'raw',
      backing,
      ...(backingFormat === undefined ? {} : { backingFormat }),
    });
  }
  return disks;
}

export function parseDomain(xml: string): Domain {
  const name = xmlText(/<name>(.*?)<\/name>/.exec(xml)?.[1] ?? '');
  const vcpu = /<vcpu\b([^>]*)>(\d+)<\/vcpu>/.exec(xml);
  const current = vcpu === null ? undefined : /current=['"](\d+)['"]/.exec(vcpu[1] ?? '')?.[1];
  const memory = /<memory\b([^>]*)>(\d+)<\/memory>/.exec(xml);
  const unit = (memory === null ? undefined : /unit=['"](\w+)['"]/.exec(memory[1] ?? '')?.[1]) ?? 'KiB';
  const kib = Number(memory?.[2] ?? 0) * (KIB[unit.toLowerCase()] ?? 1);
  const nics: DomainNic[] = [];
  for (const { body } of elements(xml, 'interface')) {
    const mac = attribute(body, 'mac', 'address');
    if (mac === undefined) continue;
    const bridge = attribute(body, 'source', 'bridge');
    const tap = attribute(body, 'target', 'dev');
    nics.push({ mac, ...(bridge === undefined ? {} : { bridge }), ...(tap === undefined ? {} : { tap }) });
  }
  return {
    name,
    vcpus: Number(current ?? vcpu?.[2] ?? 0),
    memoryGiB: kib / 2 ** 20,
    nics,
    disks: parseDomainDisks(xml),
  };
}
