#!/usr/bin/python3
"""PyKMIP 0.10 server extended for tapevault's tests (run instead of
/usr/bin/pykmip-server, same arguments; pykmip-server.sh does it with
KMS_EXTENDED=1).

Stock PyKMIP 0.10 cannot do what a full KMS does with RSA key pairs, so
this wrapper adds, in a subclass of its engine:

* KMIP 1.4 Cryptographic Parameters fields it does not parse (Salt Length,
  Mask Generator, Mask Generator Hashing Algorithm, P Source, Trailer
  Field): read into the parameters object instead of failing the request;
* Decrypt with an RSA private key: RSA-OAEP with the requested hash,
  MGF1 with the requested mask hash and P Source as the OAEP label; the
  server log says "tv-harness: RSA-OAEP Decrypt with private key UID";
* the Link attributes a KMS keeps between the halves of a key pair (made
  by CreateKeyPair, answered by GetAttributes), stored in DIR/links.json.

DIR/harness.json (read at every request, optional) switches behaviour for
negative tests:
  {"rsa_decrypt": "ok" | "unsupported",   # unsupported: Operation Not Supported
   "export_private": true | false,        # false: Get of a private key refused
   "decrypt_denied": ["UID", ...]}        # Decrypt with these keys refused
                                          # (Permission Denied), Encrypt allowed
DIR/links.json may be edited by a test to make a key link to another key.
DIR is $KMS_HARNESS_DIR.
"""
import json
import os
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from kmip.core import attributes, enums, exceptions, objects, primitives, utils
from kmip.core.messages import payloads
from kmip.services.server import engine as kmip_engine
from kmip.services.server import server as kmip_server

HARNESS_DIR = os.environ.get("KMS_HARNESS_DIR", ".")

# KMIP 1.4 tags PyKMIP 0.10 knows but does not read in Cryptographic Parameters
EXTRA_FIELDS = {
    0x420100: "salt_length",
    0x420101: "mask_generator",
    0x420102: "mask_generator_hashing_algorithm",
    0x420103: "p_source",
    0x420104: "trailer_field",
}
TTLV_INT, TTLV_ENUM, TTLV_BYTES = 0x02, 0x05, 0x08

_stock_read = attributes.CryptographicParameters.read


def _read_with_extras(self, istream, kmip_version=enums.KMIPVersion.KMIP_1_0):
    """Split the KMIP 1.4 fields off the structure, let PyKMIP read the rest."""
    header = bytes(istream.read(8))
    length = int.from_bytes(header[4:8], "big")
    body = bytes(istream.read(length))
    kept = bytearray()
    extras = {}
    pos = 0
    while pos + 8 <= len(body):
        tag = int.from_bytes(body[pos:pos + 3], "big")
        kind = body[pos + 3]
        size = int.from_bytes(body[pos + 4:pos + 8], "big")
        end = pos + 8 + (size + 7) // 8 * 8
        value = body[pos + 8:pos + 8 + size]
        if tag in EXTRA_FIELDS:
            if kind in (TTLV_INT, TTLV_ENUM) and size == 4:
                extras[EXTRA_FIELDS[tag]] = int.from_bytes(value, "big")
            elif kind == TTLV_BYTES:
                extras[EXTRA_FIELDS[tag]] = bytes(value)
            else:
                raise exceptions.InvalidField(
                    "bad type for Cryptographic Parameters field 0x%06X" % tag)
        else:
            kept += body[pos:end]
        pos = end
    rebuilt = header[:4] + len(kept).to_bytes(4, "big") + bytes(kept)
    _stock_read(self, utils.BytearrayStream(rebuilt), kmip_version=kmip_version)
    self.tv_extras = extras


attributes.CryptographicParameters.read = _read_with_extras


def _json(name, default):
    try:
        with open(os.path.join(HARNESS_DIR, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def _save_links(links):
    path = os.path.join(HARNESS_DIR, "links.json")
    with open(path + ".tmp", "w") as f:
        json.dump(links, f)
    os.replace(path + ".tmp", path)


class LinkValue(primitives.Struct):
    """The value of a Link attribute: Link Type + Linked Object Identifier."""

    def __init__(self, link_type, uid):
        super().__init__(tag=enums.Tags.LINK)
        self.link_type = primitives.Enumeration(
            enums.LinkType, link_type, tag=enums.Tags.LINK_TYPE)
        self.linked = primitives.TextString(
            uid, tag=enums.Tags.LINKED_OBJECT_IDENTIFIER)

    def write(self, ostream, kmip_version=enums.KMIPVersion.KMIP_1_0):
        inner = utils.BytearrayStream()
        self.link_type.write(inner, kmip_version=kmip_version)
        self.linked.write(inner, kmip_version=kmip_version)
        self.length = inner.length()
        super().write(ostream, kmip_version=kmip_version)
        ostream.write(inner.buffer)


HASHES = {
    enums.HashingAlgorithm.SHA_1: hashes.SHA1,
    enums.HashingAlgorithm.SHA_256: hashes.SHA256,
    enums.HashingAlgorithm.SHA_384: hashes.SHA384,
    enums.HashingAlgorithm.SHA_512: hashes.SHA512,
}


def _hash(value, what):
    if value is None:
        raise exceptions.InvalidField("RSA-OAEP Decrypt needs a %s" % what)
    try:
        return HASHES[enums.HashingAlgorithm(value)]()
    except (ValueError, KeyError):
        raise exceptions.InvalidField("unsupported %s %r" % (what, value))


class HarnessEngine(kmip_engine.KmipEngine):

    def _process_decrypt(self, payload):
        uid = payload.unique_identifier or self._id_placeholder
        if str(uid) in _json("harness.json", {}).get("decrypt_denied", []):
            self._logger.info("tv-harness: Decrypt with key %s denied" % uid)
            raise exceptions.PermissionDenied(
                "This client may encrypt but not decrypt with key %s (test mode)" % uid)
        obj = self._get_object_with_access_controls(uid, enums.Operation.GET)
        if obj._object_type != enums.ObjectType.PRIVATE_KEY:
            return super()._process_decrypt(payload)
        self._logger.info("Processing operation: Decrypt (RSA, tv-harness)")
        if _json("harness.json", {}).get("rsa_decrypt", "ok") == "unsupported":
            self._logger.info("tv-harness: RSA Decrypt refused as unsupported")
            raise exceptions.OperationNotSupported(
                "RSA decryption is not supported by this server (test mode)")
        if obj.state != enums.State.ACTIVE:
            raise exceptions.PermissionDenied(
                "The decryption key must be in the Active state to be used "
                "for decryption.")
        if enums.CryptographicUsageMask.DECRYPT not in obj.cryptographic_usage_masks:
            raise exceptions.PermissionDenied(
                "The Decrypt bit must be set in the decryption key's "
                "cryptographic usage mask.")
        params = payload.cryptographic_parameters
        if params is None or params.padding_method != enums.PaddingMethod.OAEP:
            raise exceptions.InvalidField("RSA Decrypt supports OAEP padding only")
        extras = getattr(params, "tv_extras", {})
        mgf = extras.get("mask_generator", enums.MaskGenerator.MGF1.value)
        if mgf != enums.MaskGenerator.MGF1.value:
            raise exceptions.InvalidField("unsupported Mask Generator %r" % mgf)
        digest = _hash(params.hashing_algorithm, "Hashing Algorithm")
        mgf_digest = _hash(extras.get("mask_generator_hashing_algorithm",
                                      enums.HashingAlgorithm.SHA_1.value),
                           "Mask Generator Hashing Algorithm")
        key = serialization.load_der_private_key(obj.value, password=None)
        try:
            plain = key.decrypt(payload.data, padding.OAEP(
                mgf=padding.MGF1(algorithm=mgf_digest), algorithm=digest,
                label=extras.get("p_source") or None))
        except ValueError:
            raise exceptions.CryptographicFailure("RSA-OAEP decryption failed")
        self._logger.info("tv-harness: RSA-OAEP Decrypt with private key %s" % uid)
        return payloads.DecryptResponsePayload(uid, plain)

    def _process_get(self, payload):
        uid = payload.unique_identifier or self._id_placeholder
        if uid and not _json("harness.json", {}).get("export_private", True):
            obj = self._get_object_with_access_controls(uid, enums.Operation.GET)
            if obj._object_type == enums.ObjectType.PRIVATE_KEY:
                self._logger.info("tv-harness: refused Get of private key %s" % uid)
                raise exceptions.PermissionDenied(
                    "Private keys are not exportable on this server (test mode)")
        return super()._process_get(payload)

    def _process_create_key_pair(self, payload):
        response = super()._process_create_key_pair(payload)
        priv = str(response.private_key_unique_identifier)
        pub = str(response.public_key_unique_identifier)
        links = _json("links.json", {})
        links[priv] = {"public": pub}
        links[pub] = {"private": priv}
        _save_links(links)
        return response

    def _get_attributes_from_managed_object(self, managed_object, attr_names):
        found = super()._get_attributes_from_managed_object(managed_object, attr_names)
        if attr_names and "Link" not in attr_names:
            return found
        mine = _json("links.json", {}).get(str(managed_object.unique_identifier), {})
        kinds = (("public", enums.LinkType.PUBLIC_KEY_LINK),
                 ("private", enums.LinkType.PRIVATE_KEY_LINK))
        index = 0
        for field, link_type in kinds:
            if field in mine:
                found.append(objects.Attribute(
                    attribute_name=objects.Attribute.AttributeName("Link"),
                    attribute_index=objects.Attribute.AttributeIndex(index),
                    attribute_value=LinkValue(link_type, str(mine[field]))))
                index += 1
        return found


kmip_engine.KmipEngine = HarnessEngine

if __name__ == "__main__":
    sys.exit(kmip_server.main())
