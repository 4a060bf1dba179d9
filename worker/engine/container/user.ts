/** Resolves Docker's `User` (name, uid, name:group, uid:gid) against the container's /etc/passwd and /etc/group. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { badRequest } from './errors.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  spec: string;
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

async function readLines(path: string): Promise<string[][]> {
  try {
    return (await readFile(path, 'utf8')).split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
  } catch {
    return [];
  }
}

const isNum = (s: string): boolean => /^\d+$/.test(s);

export async function resolveUser(rootfs: string, spec: string | undefined): Promise<ResolvedUser> {
  const raw = (spec ?? '').trim();
  const passwd: PasswdEntry[] = (await readLines(join(rootfs, 'etc/passwd'))).map((f) => ({
    name: f[0] ?? '',
    uid: Number(f[2]),
    gid: Number(f[3]),
    home: f[5] ?? '/',
  }));
  const groups = (await readLines(join(rootfs, 'etc/group'))).map((f) => ({ name: f[0] ?? '', gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
  const [u = '', g] = raw === '' ? ['0'] : raw.split(':');
  let uid: number;
  let gid: number;
  let name: string | undefined;
  let home = '/';
  if (isNum(u)) {
    uid = Number(u);
    const e = passwd.find((p) => p.uid === uid);
    gid = e?.gid ?? 0;
    name = e?.name;
    home = e?.home ?? '/';
  } else {
    const e = passwd.find((p) => p.name === u);
    if (!e) throw badRequest(`unable to find user ${u}: no matching entries in passwd file`);
    uid = e.uid;
    gid = e.gid;
    name = e.name;
    home = e.home;
  }
  if (g !== undefined && g !== '') {
    if (isNum(g)) gid = Number(g);
    else {
      const e = groups.find((x) => x.name === g);
      if (!e) throw badRequest(`unable to find group ${g}: no matching entries in group file`);
      gid = e.gid;
    }
  }
  const additionalGids = name ? groups.filter((x) => x.members.includes(name) && x.gid !== gid).map((x) => x.gid) : [];
  return { uid, gid, additionalGids, spec: raw, home };
}
