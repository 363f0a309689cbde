// The errors the views report as kubectl would: a name with no object behind it.

import { KnetlabError } from '../../labfile/diagnostics.js';

export type Resource = 'pods' | 'services' | 'endpoints' | 'ingresses';

/** The API server's answer for a name that does not exist, worded as kubectl prints it. */
export class NotFoundError extends KnetlabError {
  constructor(
    readonly resource: Resource,
    readonly objectName: string,
  ) {
    super(`Error from server (NotFound): ${resource} "${objectName}" not found`, 1);
    this.name = 'NotFoundError';
  }
}
