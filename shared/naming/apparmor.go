// SPDX-License-Identifier: GPL-3.0-only

package naming

// The AppArmor labels snapd gives the profiles of a snap, derived only from
// validated names: the launcher makes the app and snap-update-ns transition
// to them at exec, and the planner names them in its debug log. They are
// never read from a plan, so a caller cannot pick the profile an exec lands
// in (an "unconfined" label, another snap's).

// AppArmorLabel is the label of an app's or hook's profile: its security
// tag, as snapd's interfaces/apparmor backend names it.
func AppArmorLabel(tag SecurityTag) string { return tag.String() }

// UpdateNSAppArmorLabel is the label of snap-update-ns's profile for inst:
// snap-update-ns.<instance>.
func UpdateNSAppArmorLabel(inst Instance) string { return "snap-update-ns." + inst.String() }
