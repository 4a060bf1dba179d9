/** Store objects in the Docker Engine API's swarm shapes (GET /swarm, /nodes, /info's Swarm.Cluster). */
import type { Cluster, Node } from '../store/index.js';

export function renderNode(n: Node): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ID: n.ID,
    Version: n.Meta.Version,
    CreatedAt: n.Meta.CreatedAt,
    UpdatedAt: n.Meta.UpdatedAt,
    Spec: { ...(n.Spec.Name ? { Name: n.Spec.Name } : {}), Labels: n.Spec.Labels ?? {}, Role: n.Spec.Role, Availability: n.Spec.Availability },
    Description: {
      ...n.Description,
      Engine: { Labels: {}, Plugins: [], ...n.Description.Engine },
      ...(n.Description.TLSInfo ? {} : {}),
    },
    Status: { State: n.Status.State, ...(n.Status.Message ? { Message: n.Status.Message } : {}), Addr: n.Status.Addr },
  };
  if (n.ManagerStatus && n.Role === 'manager') {
    const ms = n.ManagerStatus;
    out.ManagerStatus = { ...(ms.Leader ? { Leader: true } : {}), Reachability: ms.Reachability, Addr: ms.Addr };
  }
  return out;
}

/** TLSInfo as Docker shows it: the trust root and the issuer (the root CA). */
export function tlsInfo(c: Cluster): Record<string, string> {
  return { TrustRoot: c.RootCACert, CertIssuerSubject: '', CertIssuerPublicKey: '' };
}

/** The Cluster object without join tokens (GET /info's Swarm.Cluster). */
export function renderClusterInfo(c: Cluster): Record<string, unknown> {
  return {
    ID: c.ID,
    Version: c.Meta.Version,
    CreatedAt: c.Meta.CreatedAt,
    UpdatedAt: c.Meta.UpdatedAt,
    Spec: c.Spec,
    TLSInfo: tlsInfo(c),
    RootRotationInProgress: false,
    DefaultAddrPool: c.DefaultAddrPool ?? ['10.0.0.0/8'],
    SubnetSize: c.SubnetSize ?? 24,
    DataPathPort: c.DataPathPort ?? 4789,
  };
}

/** GET /swarm: the cluster with its join tokens (`tokens`: opened ones, when the cluster holds them sealed). */
export function renderSwarm(c: Cluster, tokens: { Worker: string; Manager: string } = c.JoinTokens): Record<string, unknown> {
  return { ...renderClusterInfo(c), JoinTokens: { Worker: tokens.Worker, Manager: tokens.Manager } };
}
