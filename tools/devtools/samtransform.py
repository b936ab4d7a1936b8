"""samtransform.py TEMPLATE: print the CloudFormation that AWS SAM's translator makes of TEMPLATE.

Reads {"<set name>": {"<Parameter>": "<value>", ...}, ...} from stdin and prints
{"<set name>": {"template": <CloudFormation>} or {"errors": [<message>, ...]}, ...}: one Python
start for every parameter set. As `sam package` does before the transform,
each function's local CodeUri becomes an s3:// URI and each nested application's local Location an
S3 https URL (named after the file), so the output is what CloudFormation would receive. Used by
tests/limits.
"""
import json
import sys

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The translator asks IAM for AWS managed policy ARNs only for names it must resolve; the
    template uses ARNs and SAM policy templates, so nothing is looked up."""

    def load(self):
        return {}


def main():
    with open(sys.argv[1]) as f:
        source = f.read()
    results = {}
    for name, params in json.load(sys.stdin).items():
        template = yaml_parse(source)
        for logical_id, res in template.get("Resources", {}).items():
            props = res.get("Properties", {})
            if res.get("Type") == "AWS::Serverless::Function":
                props["CodeUri"] = "s3://sam-artifacts/%s.zip" % logical_id
            if res.get("Type") == "AWS::Serverless::Application" and isinstance(props.get("Location"), str):
                props["Location"] = "https://sam-artifacts.s3.amazonaws.com/%s" % props["Location"]
        try:
            results[name] = {"template": transform(template, params, NoManagedPolicies())}
        except InvalidDocumentException as e:
            results[name] = {"errors": [cause.message for cause in e.causes]}
    json.dump(results, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
