namespace PgWarden.Core.Dcs;

/// <summary>
/// How a client reaches etcd over TLS (https endpoints): <see cref="CaFile"/> is the only trust for
/// etcd's server certificate (PEM; chain, validity and host name are checked), and
/// <see cref="CertFile"/> / <see cref="KeyFile"/> (PEM, both or neither) the client certificate
/// presented to an etcd that requires one (etcd's <c>--client-cert-auth</c>; etcd 3.4 docs,
/// "Transport security model").
/// </summary>
public sealed record DcsTls(string CaFile, string? CertFile = null, string? KeyFile = null);
