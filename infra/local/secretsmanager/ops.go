package secretsmanager

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// epoch marshals a time as the service does: epoch seconds, a JSON number
// with millisecond precision.
type epoch time.Time

// MarshalJSON implements json.Marshaler.
func (e epoch) MarshalJSON() ([]byte, error) {
	ms := time.Time(e).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)), nil
}

func ep(t time.Time) *epoch {
	e := epoch(t)
	return &e
}

func epPtr(t *time.Time) *epoch {
	if t == nil {
		return nil
	}
	return ep(*t)
}

// identity is the ARN and Name pair most outputs start with.
type identity struct {
	ARN  string `json:"ARN,omitempty"`
	Name string `json:"Name,omitempty"`
}

func idOf(sec *secret) identity { return identity{ARN: sec.ARN, Name: sec.Name} }

// value is the SecretString/SecretBinary pair of inputs.
type value struct {
	SecretString *string `json:"SecretString"`
	SecretBinary []byte  `json:"SecretBinary"`
}

func (v value) present() bool { return v.SecretString != nil || v.SecretBinary != nil }

func (v value) newVersion(id string, now time.Time) *version {
	nv := &version{ID: id, Created: now}
	if v.SecretString != nil {
		str := *v.SecretString
		nv.String = &str
	} else {
		nv.Binary = append([]byte{}, v.SecretBinary...)
	}
	return nv
}

func tokenOr(tok *string) string {
	if tok != nil {
		return *tok
	}
	return newUUID()
}

func errModifyVersion() *apiError {
	return newErr(excExists, "You can't modify an existing version, you can only create a new version.")
}

func errNotEmulated(what string) *apiError {
	return newErr(excInvalidRequest, what+" is not emulated by the local Secrets Manager.")
}

// ---- CreateSecret ----

type createInput struct {
	Name               *string `json:"Name"`
	ClientRequestToken *string `json:"ClientRequestToken"`
	Description        *string `json:"Description"`
	KmsKeyId           *string `json:"KmsKeyId"`
	value
	Tags                        []tag   `json:"Tags"`
	AddReplicaRegions           []any   `json:"AddReplicaRegions"`
	CrossAccountPrimaryARN      *string `json:"CrossAccountPrimaryARN"`
	ForceOverwriteReplicaSecret bool    `json:"ForceOverwriteReplicaSecret"`
	Type                        *string `json:"Type"`
}

type createOutput struct {
	identity
	VersionId string `json:"VersionId,omitempty"`
}

func (s *Server) createSecret(body []byte) (any, *apiError) {
	var in createInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	for _, e := range []*apiError{
		checkName(in.Name), checkToken(in.ClientRequestToken),
		checkValue(in.SecretString, in.SecretBinary, false),
		checkDescription(in.Description), checkKmsKeyID(in.KmsKeyId), checkTags(in.Tags),
	} {
		if e != nil {
			return nil, e
		}
	}
	if len(in.AddReplicaRegions) > 0 || in.CrossAccountPrimaryARN != nil {
		return nil, errNotEmulated("Replication")
	}
	if in.Type != nil {
		return nil, errNotEmulated("A managed external secret (Type)")
	}
	name := *in.Name
	return s.write(func(now time.Time) (any, *apiError) {
		if sec := s.secrets[name]; sec != nil {
			if sec.deleted() {
				return nil, newErr(excInvalidRequest, "You can't create this secret because a secret with this name is already scheduled for deletion.")
			}
			if tok := in.ClientRequestToken; tok != nil {
				if v := sec.versionByID(*tok); v != nil {
					if in.present() && v.sameValue(in.SecretString, in.SecretBinary) {
						return createOutput{identity: idOf(sec), VersionId: v.ID}, nil
					}
					return nil, errModifyVersion()
				}
				if sec.CreateToken == *tok && !in.present() {
					return createOutput{identity: idOf(sec)}, nil
				}
			}
			return nil, newErr(excExists, "The operation failed because the secret "+name+" already exists.")
		}
		s.seq++
		sec := &secret{
			Name:        name,
			ARN:         s.newARNLocked(name),
			Created:     now,
			LastChanged: now,
			Seq:         s.seq,
		}
		if in.ClientRequestToken != nil {
			sec.CreateToken = *in.ClientRequestToken
		}
		if in.Description != nil {
			sec.Description = *in.Description
		}
		if in.KmsKeyId != nil {
			sec.KmsKeyID = *in.KmsKeyId
		}
		if e := sec.setTags(in.Tags); e != nil {
			return nil, e
		}
		out := createOutput{identity: idOf(sec)}
		if in.present() {
			v := in.newVersion(tokenOr(in.ClientRequestToken), now)
			sec.addVersion(v, nil, now)
			out.VersionId = v.ID
		}
		s.secrets[name] = sec
		return out, nil
	})
}

// ---- GetSecretValue ----

type getInput struct {
	SecretId     *string `json:"SecretId"`
	VersionId    *string `json:"VersionId"`
	VersionStage *string `json:"VersionStage"`
}

type getOutput struct {
	identity
	VersionId     string   `json:"VersionId"`
	SecretString  *string  `json:"SecretString,omitempty"`
	SecretBinary  []byte   `json:"SecretBinary,omitempty"`
	VersionStages []string `json:"VersionStages"`
	CreatedDate   *epoch   `json:"CreatedDate"`
}

func checkVersionID(id *string) *apiError {
	if id != nil && (len(*id) < minTokenLen || len(*id) > maxTokenLen) {
		return errParam("VersionId must be 32 to 64 characters long.")
	}
	return nil
}

func checkStage(st *string) *apiError {
	if st != nil && (len(*st) < 1 || len(*st) > maxStageLen) {
		return errParam("VersionStage must be 1 to 256 characters long.")
	}
	return nil
}

func (s *Server) getSecretValue(body []byte) (any, *apiError) {
	var in getInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	for _, e := range []*apiError{checkSecretID(in.SecretId), checkVersionID(in.VersionId), checkStage(in.VersionStage)} {
		if e != nil {
			return nil, e
		}
	}
	return s.read(func(now time.Time) (any, *apiError) {
		sec := s.lookupLocked(*in.SecretId)
		if sec == nil {
			return nil, errNotFound()
		}
		if sec.deleted() {
			return nil, errDeleted()
		}
		var v *version
		switch {
		case in.VersionId != nil:
			v = sec.versionByID(*in.VersionId)
			if v == nil {
				return nil, newErr(excNotFound, "Secrets Manager can't find the specified secret value for VersionId: "+*in.VersionId)
			}
			if in.VersionStage != nil && !slices.Contains(v.Stages, *in.VersionStage) {
				return nil, newErr(excNotFound, "Secrets Manager can't find the specified secret value for VersionId: "+*in.VersionId+" and staging label: "+*in.VersionStage)
			}
		default:
			stage := stageCurrent
			if in.VersionStage != nil {
				stage = *in.VersionStage
			}
			v = sec.versionByStage(stage)
			if v == nil {
				return nil, newErr(excNotFound, "Secrets Manager can't find the specified secret value for staging label: "+stage)
			}
		}
		day := now.UTC().Truncate(24 * time.Hour)
		sec.LastAccessed = &day
		out := getOutput{
			identity:      idOf(sec),
			VersionId:     v.ID,
			VersionStages: slices.Clone(v.Stages),
			CreatedDate:   ep(v.Created),
		}
		if out.VersionStages == nil {
			out.VersionStages = []string{}
		}
		if v.String != nil {
			str := *v.String
			out.SecretString = &str
		} else {
			out.SecretBinary = append([]byte{}, v.Binary...)
		}
		return out, nil
	})
}

// ---- PutSecretValue ----

type putInput struct {
	SecretId           *string `json:"SecretId"`
	ClientRequestToken *string `json:"ClientRequestToken"`
	RotationToken      *string `json:"RotationToken"`
	value
	VersionStages []string `json:"VersionStages"`
}

type putOutput struct {
	identity
	VersionId     string   `json:"VersionId"`
	VersionStages []string `json:"VersionStages"`
}

func (s *Server) putSecretValue(body []byte) (any, *apiError) {
	var in putInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	for _, e := range []*apiError{
		checkSecretID(in.SecretId), checkToken(in.ClientRequestToken),
		checkValue(in.SecretString, in.SecretBinary, true), checkStages(in.VersionStages),
	} {
		if e != nil {
			return nil, e
		}
	}
	return s.write(func(now time.Time) (any, *apiError) {
		sec := s.lookupLocked(*in.SecretId)
		if sec == nil {
			return nil, errNotFound()
		}
		if sec.deleted() {
			return nil, errDeleted()
		}
		if in.ClientRequestToken != nil {
			if v := sec.versionByID(*in.ClientRequestToken); v != nil {
				if !v.sameValue(in.SecretString, in.SecretBinary) {
					return nil, errModifyVersion()
				}
				return putOutput{identity: idOf(sec), VersionId: v.ID, VersionStages: nonNil(v.Stages)}, nil
			}
		}
		if e := sec.checkVersionQuota(now); e != nil {
			return nil, e
		}
		v := in.newVersion(tokenOr(in.ClientRequestToken), now)
		sec.addVersion(v, in.VersionStages, now)
		return putOutput{identity: idOf(sec), VersionId: v.ID, VersionStages: nonNil(v.Stages)}, nil
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// ---- UpdateSecret ----

type updateInput struct {
	SecretId           *string `json:"SecretId"`
	ClientRequestToken *string `json:"ClientRequestToken"`
	Description        *string `json:"Description"`
	KmsKeyId           *string `json:"KmsKeyId"`
	value
	Type *string `json:"Type"`
}

type updateOutput struct {
	identity
	VersionId string `json:"VersionId,omitempty"`
}

func (s *Server) updateSecret(body []byte) (any, *apiError) {
	var in updateInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	for _, e := range []*apiError{
		checkSecretID(in.SecretId), checkToken(in.ClientRequestToken),
		checkValue(in.SecretString, in.SecretBinary, false),
		checkDescription(in.Description), checkKmsKeyID(in.KmsKeyId),
	} {
		if e != nil {
			return nil, e
		}
	}
	if in.Type != nil {
		return nil, errNotEmulated("A managed external secret (Type)")
	}
	return s.write(func(now time.Time) (any, *apiError) {
		sec := s.lookupLocked(*in.SecretId)
		if sec == nil {
			return nil, errNotFound()
		}
		if sec.deleted() {
			return nil, errDeleted()
		}
		out := updateOutput{identity: idOf(sec)}
		var nv *version
		if in.present() {
			var existing *version
			if in.ClientRequestToken != nil {
				existing = sec.versionByID(*in.ClientRequestToken)
			}
			switch {
			case existing != nil && !existing.sameValue(in.SecretString, in.SecretBinary):
				return nil, errModifyVersion()
			case existing != nil:
				out.VersionId = existing.ID
			default:
				if e := sec.checkVersionQuota(now); e != nil {
					return nil, e
				}
				nv = in.newVersion(tokenOr(in.ClientRequestToken), now)
				out.VersionId = nv.ID
			}
		}
		// Nothing can fail past this point.
		if in.Description != nil {
			sec.Description = *in.Description
			sec.LastChanged = now
		}
		if in.KmsKeyId != nil {
			sec.KmsKeyID = *in.KmsKeyId
			sec.LastChanged = now
		}
		if nv != nil {
			sec.addVersion(nv, nil, now)
		}
		return out, nil
	})
}

// ---- DescribeSecret ----

type secretIDInput struct {
	SecretId *string `json:"SecretId"`
}

// secretMeta is what DescribeSecret and ListSecrets both tell of a secret.
type secretMeta struct {
	identity
	Description      string `json:"Description,omitempty"`
	KmsKeyId         string `json:"KmsKeyId,omitempty"`
	CreatedDate      *epoch `json:"CreatedDate,omitempty"`
	LastChangedDate  *epoch `json:"LastChangedDate,omitempty"`
	LastAccessedDate *epoch `json:"LastAccessedDate,omitempty"`
	DeletedDate      *epoch `json:"DeletedDate,omitempty"`
	Tags             []tag  `json:"Tags,omitempty"`
}

func metaOf(sec *secret) secretMeta {
	return secretMeta{identity: idOf(sec), Description: sec.Description, KmsKeyId: sec.KmsKeyID,
		CreatedDate: ep(sec.Created), LastChangedDate: ep(sec.LastChanged),
		LastAccessedDate: epPtr(sec.LastAccessed), DeletedDate: epPtr(sec.DeletedDate), Tags: slices.Clone(sec.Tags)}
}

type describeOutput struct {
	secretMeta
	VersionIdsToStages map[string][]string `json:"VersionIdsToStages,omitempty"`
}

func (s *Server) describeSecret(body []byte) (any, *apiError) {
	var in secretIDInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := checkSecretID(in.SecretId); e != nil {
		return nil, e
	}
	return s.read(func(time.Time) (any, *apiError) {
		sec := s.lookupLocked(*in.SecretId)
		if sec == nil {
			return nil, errNotFound()
		}
		return describeOutput{secretMeta: metaOf(sec), VersionIdsToStages: sec.stagesMap()}, nil
	})
}

// ---- DeleteSecret ----

type deleteInput struct {
	SecretId                   *string `json:"SecretId"`
	ForceDeleteWithoutRecovery *bool   `json:"ForceDeleteWithoutRecovery"`
	RecoveryWindowInDays       *int64  `json:"RecoveryWindowInDays"`
}

type deleteOutput struct {
	identity
	DeletionDate *epoch `json:"DeletionDate,omitempty"`
}

func (s *Server) deleteSecret(body []byte) (any, *apiError) {
	var in deleteInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := checkSecretID(in.SecretId); e != nil {
		return nil, e
	}
	force := in.ForceDeleteWithoutRecovery != nil && *in.ForceDeleteWithoutRecovery
	if force && in.RecoveryWindowInDays != nil {
		return nil, errParam("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
	}
	days := int64(defaultRecovery)
	if in.RecoveryWindowInDays != nil {
		days = *in.RecoveryWindowInDays
		if days < minRecoveryDays || days > maxRecoveryDays {
			return nil, errParam("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
		}
	}
	id := *in.SecretId
	return s.write(func(now time.Time) (any, *apiError) {
		sec := s.lookupLocked(id)
		if sec == nil {
			if !force {
				return nil, errNotFound()
			}
			// As on AWS, a forced delete of a secret that does not exist
			// (any more) succeeds.
			out := deleteOutput{DeletionDate: ep(now)}
			if strings.HasPrefix(id, "arn:") {
				out.ARN = id
			} else {
				out.Name = id
			}
			return out, nil
		}
		if force {
			delete(s.secrets, sec.Name)
			return deleteOutput{identity: idOf(sec), DeletionDate: ep(now)}, nil
		}
		if sec.deleted() {
			return nil, errDeleted()
		}
		deleted := now
		deletion := now.Add(time.Duration(days) * 24 * time.Hour)
		sec.DeletedDate = &deleted
		sec.DeletionDate = &deletion
		sec.LastChanged = now
		return deleteOutput{identity: idOf(sec), DeletionDate: ep(deletion)}, nil
	})
}

// ---- RestoreSecret ----

func (s *Server) restoreSecret(body []byte) (any, *apiError) {
	var in secretIDInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := checkSecretID(in.SecretId); e != nil {
		return nil, e
	}
	return s.write(func(now time.Time) (any, *apiError) {
		sec := s.lookupLocked(*in.SecretId)
		if sec == nil {
			return nil, errNotFound()
		}
		if sec.deleted() {
			sec.DeletedDate = nil
			sec.DeletionDate = nil
			sec.LastChanged = now
		}
		return idOf(sec), nil
	})
}

// ---- TagResource / UntagResource ----

type tagInput struct {
	SecretId *string `json:"SecretId"`
	Tags     []tag   `json:"Tags"`
}

type untagInput struct {
	SecretId *string  `json:"SecretId"`
	TagKeys  []string `json:"TagKeys"`
}

func (s *Server) tagResource(body []byte) (any, *apiError) {
	var in tagInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := checkSecretID(in.SecretId); e != nil {
		return nil, e
	}
	if in.Tags == nil {
		return nil, errParam("You must provide Tags.")
	}
	if e := checkTags(in.Tags); e != nil {
		return nil, e
	}
	return s.write(func(now time.Time) (any, *apiError) {
		sec := s.lookupLocked(*in.SecretId)
		if sec == nil {
			return nil, errNotFound()
		}
		if sec.deleted() {
			return nil, errDeleted()
		}
		if e := sec.setTags(in.Tags); e != nil {
			return nil, e
		}
		sec.LastChanged = now
		return struct{}{}, nil
	})
}

func (s *Server) untagResource(body []byte) (any, *apiError) {
	var in untagInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := checkSecretID(in.SecretId); e != nil {
		return nil, e
	}
	if in.TagKeys == nil {
		return nil, errParam("You must provide TagKeys.")
	}
	if len(in.TagKeys) > maxTags {
		return nil, errParam("You can remove at most 50 tags at once.")
	}
	for _, k := range in.TagKeys {
		if len(k) < 1 || len(k) > maxTagKeyLen {
			return nil, errParam("Tag keys must be 1 to 128 characters long.")
		}
	}
	return s.write(func(now time.Time) (any, *apiError) {
		sec := s.lookupLocked(*in.SecretId)
		if sec == nil {
			return nil, errNotFound()
		}
		if sec.deleted() {
			return nil, errDeleted()
		}
		sec.Tags = slices.DeleteFunc(sec.Tags, func(t tag) bool { return slices.Contains(in.TagKeys, t.Key) })
		if len(sec.Tags) == 0 {
			sec.Tags = nil
		}
		sec.LastChanged = now
		return struct{}{}, nil
	})
}
