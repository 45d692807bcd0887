import { z } from 'zod';
import { canonicalIp, parseMac } from '../../capture/addresses.js';

/**
 * The inventory / clouds spec (README "Inventory"). One file may hold clouds, hosts and VMs; the planner's
 * clouds spec is the same shape. Unknown fields are errors, so a typo never silently loses a setting.
 */
const price = z.number().nonnegative();
const count = z.number().int().nonnegative();

const egress = z
  .object({
    /** $/GB to any other cloud. */
    default: price.optional(),
    /** $/GB to the internet (external endpoints). */
    internet: price.optional(),
    /** $/GB to a named cloud, overriding the default. */
    to: z.record(z.string(), price).optional(),
  })
  .strict();

export const cloudSchema = z
  .object({
    name: z.string().min(1),
    capacity: z
      .object({ vcpus: count.optional(), memoryGiB: price.optional(), vms: count.optional() })
      .strict()
      .optional(),
    compute: z
      .object({ vcpuHour: price.optional(), gibHour: price.optional(), vmHour: price.optional() })
      .strict()
      .optional(),
    egress: egress.optional(),
    wan: z
      .object({
        defaultMbps: z.number().positive().optional(),
        toMbps: z.record(z.string(), z.number().positive()).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const mac = z
  .string()
  .refine((s) => parseMac(s) !== undefined, { message: 'not a MAC address (expected 02:00:00:00:00:10)' });
const ip = z.string().refine((s) => canonicalIp(s) !== undefined, { message: 'not an IPv4 or IPv6 address' });

const nic = z
  .object({
    mac: mac.optional(),
    ips: z.array(ip).optional(),
    vlan: z.number().int().min(0).max(0xffffff).optional(),
    vni: z.number().int().min(0).max(0xffffff).optional(),
  })
  .strict();

export const vmSchema = z
  .object({
    name: z.string().min(1),
    cloud: z.string().optional(),
    host: z.string().optional(),
    vcpus: z.number().positive().optional(),
    memoryGiB: z.number().positive().optional(),
    diskGiB: z.number().nonnegative().optional(),
    image: z.string().optional(),
    nics: z.array(nic).default([]),
  })
  .strict();

export const hostSchema = z.object({ name: z.string().min(1), cloud: z.string().optional() }).strict();

export const inventorySchema = z
  .object({
    clouds: z.array(cloudSchema).default([]),
    hosts: z.array(hostSchema).default([]),
    vms: z.array(vmSchema).default([]),
  })
  .strict();

export type Inventory = z.infer<typeof inventorySchema>;
export type Cloud = z.infer<typeof cloudSchema>;
export type Vm = z.infer<typeof vmSchema>;
