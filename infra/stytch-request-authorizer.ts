/**
 * A REQUEST authorizer that tells its owner which REST API it was attached to.
 *
 * @module
 */
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import type { Construct } from "constructs";

/** A REQUEST authorizer that tells its owner which REST API it was attached to. */
export class StytchRequestAuthorizer extends apigateway.RequestAuthorizer {
  private attached = false;

  constructor(
    scope: Construct,
    id: string,
    props: apigateway.RequestAuthorizerProps,
    private readonly onAttach: (restApi: apigateway.IRestApi) => void,
  ) {
    super(scope, id, props);
  }

  /** Called by every `Method` that uses this authorizer; the base class refuses a second API. */
  public override _attachToApi(restApi: apigateway.IRestApi): void {
    super._attachToApi(restApi);
    if (this.attached) return;
    this.attached = true;
    this.onAttach(restApi);
  }
}
