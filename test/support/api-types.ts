/* Generated from the OpenAPI document by `npm run generate:api-types`; `npm test` fails when it is stale. */
export interface paths {
    "/admin/accounts/{accountId}/data": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Erase an account's data everywhere (a job)
         * @description Its keys, data, tombstones and delete markers, TTL policies, journal entries, archived copies and dead letters. A restore afterwards brings none of it back. Messages of the account still queued or in flight when the job runs may land after it: stop its producers first, or run the erasure again.
         */
        delete: operations["ErasureController_erase"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/archive/restore": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Write archived data back to Redis
         * @description Data that has not expired and was not deleted, with its remaining TTL, only where a key is absent or holds an older version; and TTL policies Redis lacks. An empty body restores everything.
         */
        post: operations["ArchiveController_restore"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/archive/runs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Archive runs, newest first (the last 100) */
        get: operations["ArchiveController_list"];
        put?: never;
        /** Start an archive run now */
        post: operations["ArchiveController_start"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/archive/runs/{runId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One archive run */
        get: operations["ArchiveController_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Admin changes, newest first
         * @description Every successful admin change, kept 30 days and at most about 100000 entries. Paging with nextCursor is stable while entries are added.
         */
        get: operations["AuditController_list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/dead-letters": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Messages in the dead-letter queue, newest first
         * @description Those the worker moved with a reason, and those SQS moved by itself (MOVED_BY_SQS).
         */
        get: operations["DeadLetterController_list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/dead-letters/{messageId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One dead letter */
        get: operations["DeadLetterController_get"];
        put?: never;
        post?: never;
        /** Delete one dead letter from the dead-letter queue */
        delete: operations["DeadLetterController_remove"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/dead-letters/redrive": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send dead letters back to the ingest queue (a job)
         * @description In each group’s original order. A redriven message never overwrites data stored by a message sent after it, versioned or not. Each leaves the dead-letter queue only once it is back on the ingest queue. An empty body redrives every dead letter.
         */
        post: operations["DeadLetterController_redrive"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/jobs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Admin jobs (redrive, ...), newest first */
        get: operations["JobsController_list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/jobs/{jobId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One job, with its progress */
        get: operations["JobsController_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/rekey": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Move every webhook key to the newest secret of WEBHOOK_KEY_SECRETS (a job)
         * @description Records, tombstones and delete markers in Redis, then the archived documents (after an archive run). Progress (GET /admin/jobs/:jobId): scanned, moved, alreadyCurrent, superseded, unmovable, archiveMoved, archiveUnmovable. Once it has succeeded with unmovable and archiveUnmovable 0, the older secrets can be removed. With one secret it moves nothing and succeeds.
         */
        post: operations["RekeyController_start"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/ttl-policies": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** An account's policy and all its flow policies */
        get: operations["TtlPolicyController_list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/ttl-policies/accounts/{accountId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** An account's TTL policy */
        get: operations["TtlPolicyController_getAccount"];
        /** Set an account's TTL policy (applies to writes after it) */
        put: operations["TtlPolicyController_putAccount"];
        post?: never;
        /** Remove an account's TTL policy (writes after it get the default) */
        delete: operations["TtlPolicyController_deleteAccount"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/ttl-policies/accounts/{accountId}/flows/{flowId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A flow's TTL policy */
        get: operations["TtlPolicyController_getFlow"];
        /** Set a flow's TTL policy (wins over the account's) */
        put: operations["TtlPolicyController_putFlow"];
        post?: never;
        /** Remove a flow's TTL policy (writes after it get the account's) */
        delete: operations["TtlPolicyController_deleteFlow"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/ttl-policies/effective": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The TTL a write for this account and flow gets now, and where it comes from */
        get: operations["TtlPolicyController_effective"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health/live": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness: 200 while the process runs */
        get: operations["HealthController_live"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health/ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Readiness: every dependency this process needs, probed now */
        get: operations["HealthController_ready"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics (text exposition format) */
        get: operations["MetricsController_scrape"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/data": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The data stored under a webhook key
         * @description The webhook key, in the x-webhook-key header, is the credential. With `Prefer: wait=N` the read waits up to N seconds (at most READ_WAIT_MAX_SECONDS) for an answer other than the one the client has: with If-None-Match, until the data changes (200, or 404 when deleted or expired; 304 when the time is up); without, until the key exists (200; 404 when the time is up).
         */
        get: operations["QueryController_read"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/data/batch-get": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * The data under up to 100 webhook keys at once
         * @description No header credential: each webhook key in the body is the credential for its own data. With waitSeconds, the answer waits until any key differs from what the client holds (etags), or the time is up.
         */
        post: operations["QueryController_readMany"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/records": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Queue a set or delete of data under webhook keys
         * @description Validates the message and sends it to the SQS FIFO queue with MessageGroupId accountId:flowId; a worker applies it to Redis shortly after.
         */
        post: operations["GatewayController_submit"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/records/{messageId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * What the worker decided about a message
         * @description Applied or dead-lettered, with per-key counts and the reason. 404 until the worker has decided, after STATUS_TTL_SECONDS, and for a message of another account.
         */
        get: operations["MessageStatusController_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        AcceptedRecordDto: {
            /**
             * @description SQS message id
             * @example 5fea7756-0ea4-451a-a703-a558b933e274
             */
            messageId: string;
            /**
             * @description FIFO sequence number
             * @example 18849496460467696128
             */
            sequenceNumber?: string;
        };
        AccountTtlPoliciesDto: {
            account: components["schemas"]["TtlPolicyDto"] | null;
            /** @example acme */
            accountId: string;
            flows: components["schemas"]["TtlPolicyDto"][];
        };
        ArchiveRunDto: {
            /** @example Server selection timed out after 5000 ms */
            error?: string;
            /**
             * Format: date-time
             * @example 2026-11-25T02:03:41.870Z
             */
            finishedAt: string | null;
            /**
             * @description Archived TTL policies created or changed by the run
             * @example 12
             */
            policiesArchived: number;
            /**
             * @description Archived records created or changed by the run
             * @example 120345
             */
            recordsArchived: number;
            /**
             * Format: uuid
             * @example 0b6f3f0e-5a49-4a59-9a57-2f7c1e0d8c11
             */
            runId: string;
            /**
             * Format: date-time
             * @example 2026-11-25T02:00:00.012Z
             */
            startedAt: string;
            /**
             * @example succeeded
             * @enum {string}
             */
            status: "running" | "succeeded" | "failed";
            /**
             * @description `rekey`: started by a re-key job (POST /admin/rekey) before it re-keys the archive
             * @example schedule
             * @enum {string}
             */
            trigger: "schedule" | "manual" | "rekey";
        };
        AuditEntryDto: {
            /** @example ttl-policy.put */
            action: string;
            /**
             * @description The id of the admin API key (never the key itself)
             * @example ops.alice
             */
            actor: string;
            /**
             * @description The state after the change, or what the route answered
             * @example {
             *       "accountId": "acme",
             *       "flowId": null,
             *       "ttlSeconds": 3600,
             *       "updatedAt": "2026-11-30T19:30:00.000Z"
             *     }
             */
            after?: {
                [key: string]: unknown;
            };
            /**
             * Format: date-time
             * @example 2026-11-30T19:30:00.000Z
             */
            at: string;
            /**
             * @description The state before the change, when the route knows it
             * @example {
             *       "accountId": "acme",
             *       "flowId": null,
             *       "ttlSeconds": 86400,
             *       "updatedAt": "2026-11-01T08:00:00.000Z"
             *     }
             */
            before?: {
                [key: string]: unknown;
            };
            /** @example /admin/ttl-policies/accounts/acme */
            target: string;
        };
        AuditPageDto: {
            /** @description Newest first */
            items: components["schemas"]["AuditEntryDto"][];
            /**
             * @description Pass as cursor for the next page; null on the last
             * @example 1764504000000-0
             */
            nextCursor: string | null;
        };
        BatchGetDto: {
            /**
             * @description The ETag the client holds for some of the keys (each must be in webhookKeys). With waitSeconds, such a key counts as changed once its ETag differs (or it is gone); a key without one, once it exists.
             * @example {
             *       "wh_7f3c9a1e2b4d": "\"Qm9keUV0YWctMTIzNDU2Nzg5MA\""
             *     }
             */
            etags?: {
                [key: string]: string;
            };
            /**
             * @description Hold the request until any key differs from what the client holds (see etags), at most this many seconds (shortened to READ_WAIT_MAX_SECONDS, 60 by default); then answer as usual. 0 or absent: answer at once.
             * @example 30
             */
            waitSeconds?: number;
            /**
             * @description 1 to 100 unique webhook keys, each 8 to 512 printable ASCII characters without whitespace
             * @example [
             *       "wh_7f3c9a1e2b4d",
             *       "wh_erp-connector-01"
             *     ]
             */
            webhookKeys: string[];
        };
        BatchGetResultDto: {
            /**
             * @description The strong ETag of each found key, as GET /v1/data answers it
             * @example {
             *       "wh_7f3c9a1e2b4d": "\"Qm9keUV0YWctMTIzNDU2Nzg5MA\""
             *     }
             */
            etags: {
                [key: string]: string;
            };
            /** @description Found keys, each with the same object GET /v1/data answers */
            items: {
                [key: string]: components["schemas"]["RecordDataDto"];
            };
            /**
             * @example [
             *       "wh_unknown-key-1"
             *     ]
             */
            missing: string[];
        };
        DeadLetterDto: {
            /**
             * @description Absent when the message names no account
             * @example acme
             */
            accountId?: string;
            /** @example {"accountId":"acme","flowId":"orders-sync","webhookKeys":["wh_1"],"data":{}} */
            body: string;
            /**
             * Format: date-time
             * @example 2026-11-30T10:00:00.000Z
             */
            deadLetteredAt: string;
            /**
             * @description Why: MESSAGE_TOO_LARGE, INVALID_JSON, INVALID_MESSAGE, MESSAGE_GROUP_MISMATCH, KEY_OWNED_BY_OTHER_ACCOUNT, RETRIES_EXHAUSTED, or MOVED_BY_SQS (SQS moved it after maxReceiveCount receives)
             * @example KEY_OWNED_BY_OTHER_ACCOUNT
             */
            errorCode: string;
            /** @example every webhook key of this message is owned by another account than acme */
            errorMessage: string;
            /** @example orders-sync */
            flowId?: string;
            /**
             * @description The id POST /v1/records answered
             * @example 6f1c0a52-3f43-4d0c-9a57-1e2b7c9d8a10
             */
            messageId: string;
            /**
             * @description Receives from the ingest queue before it was dead-lettered
             * @example 1
             */
            receiveCount: number;
        };
        DeadLetterPageDto: {
            items: components["schemas"]["DeadLetterDto"][];
            /** @description Pass as `cursor` for the next page; null at the end */
            nextCursor: string | null;
        };
        EffectiveTtlDto: {
            /**
             * @example account
             * @enum {string}
             */
            source: "flow" | "account" | "default";
            /**
             * @description null: never expires
             * @example 86400
             */
            ttlSeconds: number | null;
        };
        ErrorResponseDto: {
            details?: components["schemas"]["FieldProblemDto"][];
            /** @example Bad Request */
            error: string;
            /** @example The message is invalid */
            message: string;
            /** @example 400 */
            statusCode: number;
        };
        FieldProblemDto: {
            /** @example webhookKeys */
            field: string;
            /** @example webhookKeys[2] must be 8 to 512 printable ASCII characters without whitespace */
            message: string;
        };
        JobDto: {
            /** @example SQS refused the message: ... */
            error?: string;
            /**
             * Format: date-time
             * @example null
             */
            finishedAt: string | null;
            /**
             * Format: uuid
             * @example 5d0c7f5e-8a43-4d4e-9c1b-0a6c3f2b9e77
             */
            jobId: string;
            /**
             * @description What the job does: `redrive` (dead letters back to the queue), `rekey` (every webhook key to the newest secret) or `erase-account` (one account's data erased)
             * @example redrive
             */
            kind: string;
            /**
             * @description Counts that grow as the job goes; each kind documents its own
             * @example {
             *       "total": 120,
             *       "redriven": 80,
             *       "missing": 0
             *     }
             */
            progress: {
                [key: string]: number;
            };
            /**
             * Format: date-time
             * @example 2026-11-30T10:00:00.000Z
             */
            startedAt: string;
            /**
             * @example running
             * @enum {string}
             */
            status: "running" | "succeeded" | "failed";
        };
        KeyCountsDto: {
            /**
             * @description Keys written (or already holding this message’s data)
             * @example 2
             */
            applied: number;
            /**
             * @description Keys left alone because another account owns them
             * @example 0
             */
            foreign: number;
            /**
             * @description Keys left alone because they hold newer data
             * @example 0
             */
            stale: number;
        };
        MessageStatusDto: {
            /** @example acme */
            accountId: string;
            /**
             * Format: date-time
             * @example 2026-11-30T10:00:00.120Z
             */
            decidedAt: string;
            /** @example KEY_OWNED_BY_OTHER_ACCOUNT */
            errorCode?: string;
            /** @example every webhook key of this message is owned by another account than acme */
            errorMessage?: string;
            /** @example orders-sync */
            flowId: string;
            keys: components["schemas"]["KeyCountsDto"];
            /** @example 6f1c0a52-3f43-4d0c-9a57-1e2b7c9d8a10 */
            messageId: string;
            /**
             * @example applied
             * @enum {string}
             */
            status: "applied" | "dead-lettered";
        };
        PutTtlPolicyDto: {
            /**
             * @description Seconds data written under this policy lives, or null for "never expires"
             * @example 86400
             */
            ttlSeconds: number | null;
        };
        RecordDataDto: {
            /** @example acme */
            accountId: string;
            /**
             * @description The JSON value the producer sent
             * @example {
             *       "orderId": "A-1001",
             *       "status": "shipped"
             *     }
             */
            data: {
                [key: string]: unknown;
            } | unknown[] | string | number | boolean;
            /**
             * Format: date-time
             * @description null: never
             * @example 2026-12-02T09:30:00.000Z
             */
            expiresAt: string | null;
            /** @example orders-sync */
            flowId: string;
            /**
             * Format: date-time
             * @example 2026-11-25T09:30:00.000Z
             */
            storedAt: string;
            /** @example 42 */
            version: number | null;
        };
        RecordMessageDto: {
            /**
             * @description Account id: 1 to 63 characters of A-Z a-z 0-9 . _ -
             * @example acme
             */
            accountId: string;
            /**
             * @description Any JSON value except null. Required for "set", absent for "delete".
             * @example {
             *       "orderId": "A-1001",
             *       "status": "shipped",
             *       "lines": 3
             *     }
             */
            data?: {
                [key: string]: unknown;
            } | unknown[] | string | number | boolean;
            /**
             * @description Flow id: 1 to 63 characters of A-Z a-z 0-9 . _ -
             * @example orders-sync
             */
            flowId: string;
            /**
             * @description "set" stores data, "delete" removes it
             * @default set
             * @enum {string}
             */
            op?: "set" | "delete";
            /**
             * @description Stale-write guard: not applied to a key whose stored version is greater
             * @example 42
             */
            version?: number;
            /**
             * @description Webhook keys to store the data under, each 8 to 512 printable ASCII characters without whitespace
             * @example [
             *       "wh_7f3c9a1e2b4d",
             *       "wh_erp-connector-01"
             *     ]
             */
            webhookKeys: string[];
        };
        RedriveRequestDto: {
            accountId?: string;
            /** @example KEY_OWNED_BY_OTHER_ACCOUNT */
            errorCode?: string;
            flowId?: string;
            /** @description Only these messages */
            messageIds?: string[];
        };
        RestoreRequestDto: {
            /**
             * @description Only this account (all when absent)
             * @example acme
             */
            accountId?: string;
            /**
             * @description Only this flow (all when absent)
             * @example orders-sync
             */
            flowId?: string;
        };
        RestoreResultDto: {
            /**
             * @description TTL policies written back because Redis had none
             * @example 3
             */
            policiesRestored: number;
            /**
             * @description Webhook keys written back
             * @example 1530
             */
            restored: number;
            /**
             * @description Keys deleted or overwritten after the data was archived
             * @example 17
             */
            skippedDeleted: number;
            /**
             * @description Keys of archived data whose TTL has ended
             * @example 210
             */
            skippedExpired: number;
            /**
             * @description Keys Redis holds with newer (or unversioned) data, or owned by another account
             * @example 4
             */
            skippedNewer: number;
        };
        StartedJobDto: {
            /**
             * Format: uuid
             * @example 5d0c7f5e-8a43-4d4e-9c1b-0a6c3f2b9e77
             */
            jobId: string;
        };
        StartedRunDto: {
            /**
             * Format: uuid
             * @example 0b6f3f0e-5a49-4a59-9a57-2f7c1e0d8c11
             */
            runId: string;
        };
        TtlPolicyDto: {
            /** @example acme */
            accountId: string;
            /**
             * @description null for the account policy
             * @example orders-sync
             */
            flowId: string | null;
            /** @example 86400 */
            ttlSeconds: number | null;
            /**
             * Format: date-time
             * @example 2026-11-25T09:30:00.000Z
             */
            updatedAt: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    ErasureController_erase: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                accountId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StartedJobDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description A re-key (POST /admin/rekey) is running */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Redis cannot be reached (Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    ArchiveController_restore: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RestoreRequestDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RestoreResultDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The archive is off (MONGODB_URI is not set) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    ArchiveController_list: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ArchiveRunDto"][];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The archive is off (MONGODB_URI is not set) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    ArchiveController_start: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StartedRunDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description A run is in progress (on any instance) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The archive is off (MONGODB_URI is not set) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    ArchiveController_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                runId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ArchiveRunDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The archive is off (MONGODB_URI is not set) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    AuditController_list: {
        parameters: {
            query?: {
                /** @description The nextCursor of the previous page; absent for the newest entries */
                cursor?: string;
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuditPageDto"];
                };
            };
            /** @description Invalid limit or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    DeadLetterController_list: {
        parameters: {
            query?: {
                accountId?: string;
                /** @description nextCursor of the previous page */
                cursor?: string;
                errorCode?: string;
                flowId?: string;
                /** @description Entries carry bodies of up to 256 KiB */
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeadLetterPageDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Redis or SQS cannot be reached (Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    DeadLetterController_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                messageId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeadLetterDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Redis or SQS cannot be reached (Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    DeadLetterController_remove: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                messageId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Redis or SQS cannot be reached (Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    DeadLetterController_redrive: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RedriveRequestDto"];
            };
        };
        responses: {
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StartedJobDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Redis or SQS cannot be reached (Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    JobsController_list: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JobDto"][];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    JobsController_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                jobId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JobDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    RekeyController_start: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StartedJobDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description A re-key or an account erasure is running */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Redis cannot be reached (Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    TtlPolicyController_list: {
        parameters: {
            query: {
                accountId: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AccountTtlPoliciesDto"];
                };
            };
            /** @description Invalid account id, flow id or body */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    TtlPolicyController_getAccount: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                accountId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TtlPolicyDto"];
                };
            };
            /** @description Invalid account id, flow id or body */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    TtlPolicyController_putAccount: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                accountId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PutTtlPolicyDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TtlPolicyDto"];
                };
            };
            /** @description Invalid account id, flow id or body */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    TtlPolicyController_deleteAccount: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                accountId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Invalid account id, flow id or body */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    TtlPolicyController_getFlow: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                accountId: string;
                flowId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TtlPolicyDto"];
                };
            };
            /** @description Invalid account id, flow id or body */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    TtlPolicyController_putFlow: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                accountId: string;
                flowId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PutTtlPolicyDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TtlPolicyDto"];
                };
            };
            /** @description Invalid account id, flow id or body */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    TtlPolicyController_deleteFlow: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                accountId: string;
                flowId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Invalid account id, flow id or body */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    TtlPolicyController_effective: {
        parameters: {
            query: {
                accountId: string;
                flowId: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EffectiveTtlDto"];
                };
            };
            /** @description Invalid account id, flow id or body */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    HealthController_live: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description An Expect header other than 100-continue */
            417: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    HealthController_ready: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description An Expect header other than 100-continue */
            417: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
        };
    };
    MetricsController_scrape: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description An Expect header other than 100-continue */
            417: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    QueryController_read: {
        parameters: {
            query?: never;
            header?: {
                /** @description An ETag from an earlier answer */
                "If-None-Match"?: string;
                /** @description RFC 7240 `wait=N`: seconds to wait for a change (1 to READ_WAIT_MAX_SECONDS, 60 by default) */
                Prefer?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    /** @description Strong entity tag */
                    ETag?: string;
                    /** @description The wait applied, `wait=N`, when Prefer asked for one */
                    "Preference-Applied"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RecordDataDto"];
                };
            };
            /** @description Unchanged since the ETag in If-None-Match (after the wait, when Prefer asked for one) */
            304: {
                headers: {
                    /** @description The wait applied, `wait=N` */
                    "Preference-Applied"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or malformed x-webhook-key */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Unknown, deleted or expired key */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Too many reads of unknown webhook keys from this address this minute (READ_MISS_LIMIT_PER_MINUTE): every webhook-key read from it answers 429 until the minute is over */
            429: {
                headers: {
                    /** @description Seconds until the minute is over */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    QueryController_readMany: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["BatchGetDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BatchGetResultDto"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Too many reads of unknown webhook keys from this address this minute (READ_MISS_LIMIT_PER_MINUTE): every webhook-key read from it answers 429 until the minute is over */
            429: {
                headers: {
                    /** @description Seconds until the minute is over */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    GatewayController_submit: {
        parameters: {
            query?: never;
            header?: {
                /** @description Becomes the FIFO MessageDeduplicationId (scoped to accountId:flowId): a repeat within 5 minutes is accepted but not queued again */
                "Idempotency-Key"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RecordMessageDto"];
            };
        };
        responses: {
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AcceptedRecordDto"];
                };
            };
            /** @description Invalid message; `details` names each field */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The queue cannot be reached (Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    MessageStatusController_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The messageId POST /v1/records answered */
                messageId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageStatusDto"];
                };
            };
            /** @description Missing or unknown x-api-key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description The key may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Redis cannot be reached (Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
}
