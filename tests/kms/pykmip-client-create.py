#!/usr/bin/python3
"""Create keys with PyKMIP's own client (ProxyKmipClient), not tapevault's.

Run with Debian's /usr/bin/python3 (the interpreter that has python3-pykmip):

    pykmip-client-create.py DIR NAME [--rsa BITS]

DIR is a directory set up by pykmip-server.sh start (its `env` file gives
host, port, CA and the client certificate). Creates and activates an AES-256
key named NAME (usage Encrypt|Decrypt|WrapKey|UnwrapKey) and, with --rsa, an
RSA key pair NAME-rsa / NAME-rsa.pub. Prints KEY=VALUE lines:

    AES_UID=...
    RSA_PRIV_UID=...
    RSA_PUB_UID=...

The keys belong to the client certificate's CN, so tapevault presenting the
same certificate can use them.
"""
import argparse
import os
import sys

try:
    from kmip import enums
    from kmip.pie.client import ProxyKmipClient
except ImportError:
    sys.stderr.write("pykmip-client-create.py: python3-pykmip is not installed\n")
    sys.exit(3)


def read_env(directory):
    env = {}
    with open(os.path.join(directory, "env")) as f:
        for line in f:
            line = line.strip()
            if "=" in line:
                key, value = line.split("=", 1)
                env[key] = value
    return env


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("name")
    ap.add_argument("--rsa", type=int, default=0, metavar="BITS",
                    help="also create an RSA key pair of BITS bits")
    args = ap.parse_args()
    env = read_env(args.dir)

    # An empty configuration file keeps the client from reading
    # ~/.pykmip/pykmip.conf or /etc/pykmip/pykmip.conf.
    conf = os.path.join(args.dir, "client.conf")
    with open(conf, "w") as f:
        f.write("[client]\n")

    client = ProxyKmipClient(
        hostname=env["KMS_HOST"],
        port=int(env["KMS_PORT"]),
        cert=env["KMS_CERT"],
        key=env["KMS_KEY"],
        ca=env["KMS_CA"],
        ssl_version="PROTOCOL_TLSv1_2",
        config_file=conf,
    )
    usage = [
        enums.CryptographicUsageMask.ENCRYPT,
        enums.CryptographicUsageMask.DECRYPT,
        enums.CryptographicUsageMask.WRAP_KEY,
        enums.CryptographicUsageMask.UNWRAP_KEY,
    ]
    with client:
        uid = client.create(enums.CryptographicAlgorithm.AES, 256,
                            name=args.name, cryptographic_usage_mask=usage)
        client.activate(uid)
        print("AES_UID=%s" % uid)
        if args.rsa:
            pub, priv = client.create_key_pair(
                enums.CryptographicAlgorithm.RSA, args.rsa,
                public_name=args.name + "-rsa.pub",
                public_usage_mask=[enums.CryptographicUsageMask.ENCRYPT,
                                   enums.CryptographicUsageMask.WRAP_KEY],
                private_name=args.name + "-rsa",
                private_usage_mask=[enums.CryptographicUsageMask.DECRYPT,
                                    enums.CryptographicUsageMask.UNWRAP_KEY])
            client.activate(priv)
            client.activate(pub)
            print("RSA_PRIV_UID=%s" % priv)
            print("RSA_PUB_UID=%s" % pub)
    return 0


if __name__ == "__main__":
    sys.exit(main())
